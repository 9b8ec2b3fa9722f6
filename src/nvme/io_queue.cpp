// IoQueue: the NVM command set path from submission entry to bdev and back.
#include "nvme/io_queue.hpp"

#include <algorithm>

#include "base/iovec.hpp"
#include "base/log.hpp"
#include "nvme/data_pointer.hpp"
#include "nvme/shard.hpp"

namespace vhostd::nvme {

namespace {

using namespace nvme_spec;

// Written from when Write Zeroes falls back to plain writes (a bdev without write_zeroes).
alignas(4096) const std::array<uint8_t, 4096> kZeroPage{};

enum class Stage : uint8_t { data, flush_after_write, ranges };

}  // namespace

struct IoQueue::Request final : block::IoCompletion, ChannelWaiter {
    IoQueue* queue = nullptr;
    uint32_t slot = 0;
    std::span<iovec> storage;  // this request's slice of the queue's iovec arena
    NsChannel* ns = nullptr;
    block::IoRequest io;
    uint8_t opcode = 0;
    bool flush_after = false;  // writethrough or FUA: flush once the write is done
    // Range operations (Write Zeroes, deallocate): the ranges (host copies) and progress.
    const DsmRange* ranges = nullptr;
    uint32_t range_count = 0;
    uint32_t range_index = 0;
    uint64_t range_done = 0;  // blocks of ranges[range_index] already submitted
    block::IoType range_type = block::IoType::discard;
    bool zero_writes = false;  // Write Zeroes through writes from the zero page
    bool unmap = false;
    DsmRange single_range{};
    int32_t dsm_buffer = -1;
    Request* next_dsm_waiter = nullptr;

    void io_complete(block::IoRequest&) noexcept override { queue->on_io_complete(*this); }
    void channel_ready() noexcept override { queue->dispatch(*this); }
};

IoQueue::IoQueue(Shard& shard, SqState& state, CompletionQueue& cq,
                 guest_memory::GuestMemory::Ptr memory)
    : SubmissionQueue(shard, state, cq, std::move(memory), state.config.size),
      iov_arena_(size_t{state.config.size} * kIovecsPerRequest),
      requests_(state.config.size),
      dsm_arena_(kDsmBuffers * kDsmMaxRanges) {
    for (size_t i = 0; i < requests_.size(); ++i) {
        requests_[i].queue = this;
        requests_[i].slot = static_cast<uint32_t>(i);
        requests_[i].storage =
            std::span(iov_arena_).subspan(i * kIovecsPerRequest, kIovecsPerRequest);
    }
    for (uint32_t i = 0; i < kDsmBuffers; ++i) {
        free_dsm_buffers_.push_back(i);
    }
}

IoQueue::~IoQueue() = default;

void IoQueue::execute(uint32_t slot) noexcept {
    Request& request = requests_[slot];
    const Command& c = command(slot);
    request.ns = nullptr;
    request.opcode = c.opcode;
    request.flush_after = false;
    request.ranges = nullptr;
    request.dsm_buffer = -1;
    request.zero_writes = false;
    // 4.2 / Identify FUSES = 0: fused operations are not supported.
    if ((c.flags & kFuseMask) != 0) {
        finish(request, status::kInvalidField);
        return;
    }
    switch (c.opcode) {
        case io_opcode::kFlush:
        case io_opcode::kWrite:
        case io_opcode::kRead:
        case io_opcode::kWriteZeroes:
        case io_opcode::kDatasetManagement:
            break;
        default:
            // Compare, Write Uncorrectable, reservations, ...: ONCS reports none of them.
            finish(request, status::kInvalidOpcode);
            return;
    }
    // 6.1 / 4.2: an active NSID (Flush to FFFFFFFFh is refused: VWC reports no broadcast).
    NsChannel* ns = shard().ns(c.nsid);
    if (ns == nullptr) {
        finish(request, status::kInvalidNamespace);
        return;
    }
    request.ns = ns;
    ns->acquire();
    if (ns->opening()) {
        ns->wait(request);  // continues in dispatch() once the channel is open
        return;
    }
    dispatch(request);
}

void IoQueue::dispatch(Request& request) noexcept {
    if (!request.ns->ready()) {
        finish(request, status::kNamespaceNotReady);  // the bdev's channel could not open
        return;
    }
    switch (request.opcode) {
        case io_opcode::kFlush:
            flush(request);
            return;
        case io_opcode::kWrite:
            read_write(request, true);
            return;
        case io_opcode::kRead:
            read_write(request, false);
            return;
        case io_opcode::kWriteZeroes:
            write_zeroes(request);
            return;
        case io_opcode::kDatasetManagement:
            dataset_management(request);
            return;
        default:
            finish(request, status::kInvalidOpcode);
    }
}

Status IoQueue::check_range(const Request& request, uint64_t slba, uint64_t blocks) const {
    // 6.x: the whole range lies in the namespace (checked without overflow).
    const uint64_t nsze = request.ns->ns().num_blocks();
    if (slba >= nsze || blocks > nsze - slba) {
        return status::kLbaOutOfRange;
    }
    return kSuccess;
}

void IoQueue::read_write(Request& request, bool write) noexcept {
    const Command& c = command(request.slot);
    const Namespace& ns = request.ns->ns();
    const uint64_t slba = uint64_t{c.cdw10} | (uint64_t{c.cdw11} << 32);
    const uint64_t blocks = uint64_t{c.cdw12 & kNlbMask} + 1;  // NLB is 0's based
    if (Status s = check_range(request, slba, blocks); s != kSuccess) {
        finish(request, s);
        return;
    }
    const uint64_t bytes = blocks << ns.block_shift();
    // Identify Controller MDTS: a larger transfer is an invalid field.
    if (bytes > core().max_transfer_bytes()) {
        finish(request, status::kInvalidField);
        return;
    }
    if (write && ns.read_only()) {
        finish(request, status::kWriteProtected);
        return;
    }
    const DataPointerLimits limits{.page_size = core().page_size.load(std::memory_order_relaxed),
                                   .max_sgl_descriptors = kMaxSglDescriptors,
                                   .allow_sgl = true};
    auto iovecs = map_data(*memory(), c, bytes, request.storage, limits);
    if (!iovecs) {
        LOG_RATELIMITED(nvme, warn, "queue {}: command {:#x} data pointer refused (status {:#x})",
                        qid(), c.cid, iovecs.error());
        finish(request, iovecs.error());
        return;
    }
    request.io = block::IoRequest{
        .type = write ? block::IoType::write : block::IoType::read,
        .offset = slba << ns.block_shift(),
        .length = bytes,
        .iov = request.storage.data(),
        .iovcnt = static_cast<uint32_t>(*iovecs),
        .completion = &request,
    };
    // FUA, or the volatile write cache turned off (feature 06h): the write is complete only
    // once it is stable.
    request.flush_after =
        write && ns.bdev().capabilities().flush &&
        ((c.cdw12 & kRwFua) != 0 || !core().write_cache_enabled.load(std::memory_order_relaxed));
    submit(request);
}

void IoQueue::flush(Request& request) noexcept {
    if (!request.ns->ns().bdev().capabilities().flush) {
        finish(request, kSuccess);  // no volatile cache: everything written is stable
        return;
    }
    request.io = block::IoRequest{.type = block::IoType::flush, .completion = &request};
    submit(request);
}

void IoQueue::write_zeroes(Request& request) noexcept {
    const Command& c = command(request.slot);
    const Namespace& ns = request.ns->ns();
    const uint64_t slba = uint64_t{c.cdw10} | (uint64_t{c.cdw11} << 32);
    const uint64_t blocks = uint64_t{c.cdw12 & kNlbMask} + 1;
    if (Status s = check_range(request, slba, blocks); s != kSuccess) {
        finish(request, s);
        return;
    }
    if (ns.read_only()) {
        finish(request, status::kWriteProtected);
        return;
    }
    request.single_range =
        DsmRange{.attributes = 0, .length = static_cast<uint32_t>(blocks), .slba = slba};
    request.ranges = &request.single_range;
    request.range_count = 1;
    request.range_index = 0;
    request.range_done = 0;
    request.zero_writes = !ns.bdev().capabilities().write_zeroes;
    request.range_type = request.zero_writes ? block::IoType::write : block::IoType::write_zeroes;
    request.unmap = (c.cdw12 & kWriteZeroesDeallocate) != 0;
    next_range(request);
}

void IoQueue::dataset_management(Request& request) noexcept {
    const Command& c = command(request.slot);
    const Namespace& ns = request.ns->ns();
    // 6.7: attributes other than deallocate are hints; deallocate is advisory too unless
    // the namespace reports what deallocated blocks read as (DLFEAT = 0 here).
    if ((c.cdw11 & kDsmDeallocate) == 0 || !ns.bdev().capabilities().discard) {
        finish(request, kSuccess);
        return;
    }
    if (ns.read_only()) {
        finish(request, status::kWriteProtected);
        return;
    }
    if (free_dsm_buffers_.empty()) {
        request.next_dsm_waiter = nullptr;
        if (dsm_waiters_tail_ != nullptr) {
            dsm_waiters_tail_->next_dsm_waiter = &request;
        } else {
            dsm_waiters_head_ = &request;
        }
        dsm_waiters_tail_ = &request;
        return;
    }
    const uint32_t buffer = free_dsm_buffers_.back();
    free_dsm_buffers_.pop_back();
    request.dsm_buffer = static_cast<int32_t>(buffer);
    DsmRange* ranges = dsm_arena_.data() + size_t{buffer} * kDsmMaxRanges;
    const uint32_t count = (c.cdw10 & 0xff) + 1;  // NR is 0's based
    const uint64_t bytes = uint64_t{count} * sizeof(DsmRange);
    const DataPointerLimits limits{.page_size = core().page_size.load(std::memory_order_relaxed),
                                   .max_sgl_descriptors = kMaxSglDescriptors,
                                   .allow_sgl = true};
    auto iovecs = map_data(*memory(), c, bytes, request.storage, limits);
    if (!iovecs) {
        finish(request, iovecs.error());
        return;
    }
    // The ranges are copied once into host memory and checked there, all before any is
    // deallocated.
    iov_copy_out(request.storage.first(*iovecs), 0, ranges, bytes);
    for (uint32_t i = 0; i < count; ++i) {
        if (ranges[i].length == 0) {
            continue;
        }
        if (Status s = check_range(request, ranges[i].slba, ranges[i].length); s != kSuccess) {
            finish(request, s);
            return;
        }
    }
    request.ranges = ranges;
    request.range_count = count;
    request.range_index = 0;
    request.range_done = 0;
    request.range_type = block::IoType::discard;
    request.unmap = false;
    next_range(request);
}

void IoQueue::next_range(Request& request) noexcept {
    const Namespace& ns = request.ns->ns();
    const block::Capabilities& caps = ns.bdev().capabilities();
    uint64_t max_blocks = 0;  // 0: no limit
    if (request.zero_writes) {
        // As many zero pages as a request has iovecs (and the bdev takes), in whole blocks.
        size_t pages = kIovecsPerRequest;
        if (caps.max_segments != 0) {
            pages = std::min<size_t>(pages, caps.max_segments);
        }
        // At least one block (a 64 KiB block is 16 pages, well within a request's iovecs).
        max_blocks = std::max<uint64_t>(1, (pages * kZeroPage.size()) >> ns.block_shift());
    } else if (request.range_type == block::IoType::discard) {
        max_blocks = caps.max_discard_blocks;
    } else {
        max_blocks = caps.max_write_zeroes_blocks;
    }
    while (request.range_index < request.range_count) {
        const DsmRange& range = request.ranges[request.range_index];
        const uint64_t left = range.length - request.range_done;
        if (left == 0) {
            ++request.range_index;
            request.range_done = 0;
            continue;
        }
        const uint64_t blocks = max_blocks != 0 ? std::min(left, max_blocks) : left;
        const uint64_t bytes = blocks << ns.block_shift();
        request.io = block::IoRequest{
            .type = request.range_type,
            .unmap = request.unmap,
            .offset = (range.slba + request.range_done) << ns.block_shift(),
            .length = bytes,
            .completion = &request,
        };
        if (request.zero_writes) {
            size_t used = 0;
            for (uint64_t left_bytes = bytes; left_bytes > 0; ++used) {
                const uint64_t piece = std::min<uint64_t>(left_bytes, kZeroPage.size());
                request.storage[used] =
                    iovec{const_cast<uint8_t*>(kZeroPage.data()), static_cast<size_t>(piece)};
                left_bytes -= piece;
            }
            request.io.iov = request.storage.data();
            request.io.iovcnt = static_cast<uint32_t>(used);
        }
        request.range_done += blocks;
        submit(request);
        return;
    }
    finish(request, kSuccess);
}

void IoQueue::submit(Request& request) noexcept {
    request.ns->submit(request.io);
}

void IoQueue::on_io_complete(Request& request) noexcept {
    if (request.io.status != block::IoStatus::success) {
        const block::Bdev& bdev = request.ns->ns().bdev();
        LOG_RATELIMITED(nvme, warn, "queue {}: {} on namespace {} failed: {}", qid(),
                        block::to_string(request.io.type), request.ns->ns().nsid(),
                        block::to_string(request.io.status));
        if (request.io.status == block::IoStatus::io_error) {
            queue::QueueStats::add(core().io_counters(qid()).media_errors);
        }
        finish(request, to_status(request.io.status, request.io.type, bdev.state()));
        return;
    }
    if (request.flush_after) {
        request.flush_after = false;
        request.io = block::IoRequest{.type = block::IoType::flush, .completion = &request};
        submit(request);
        return;
    }
    if (request.ranges != nullptr) {
        next_range(request);
        return;
    }
    finish(request, kSuccess);
}

void IoQueue::finish(Request& request, Status status) noexcept {
    if (status == kSuccess &&
        (request.opcode == io_opcode::kRead || request.opcode == io_opcode::kWrite)) {
        IoCounters& counters = core().io_counters(qid());
        const uint64_t bytes = uint64_t{(command(request.slot).cdw12 & kNlbMask) + 1}
                               << request.ns->ns().block_shift();
        if (request.opcode == io_opcode::kRead) {
            queue::QueueStats::add(counters.read_commands);
            queue::QueueStats::add(counters.bytes_read, bytes);
        } else {
            queue::QueueStats::add(counters.write_commands);
            queue::QueueStats::add(counters.bytes_written, bytes);
        }
    }
    const bool had_buffer = request.dsm_buffer >= 0;
    if (had_buffer) {
        free_dsm_buffers_.push_back(static_cast<uint32_t>(request.dsm_buffer));
        request.dsm_buffer = -1;
    }
    if (request.ns != nullptr) {
        request.ns->release();
        request.ns = nullptr;
    }
    complete(request.slot, status);
    if (had_buffer) {
        resume_dsm_waiters();
    }
}

void IoQueue::resume_dsm_waiters() noexcept {
    // A loop, not recursion: a resumed command may finish at once and free its buffer again.
    if (resuming_dsm_) {
        return;
    }
    resuming_dsm_ = true;
    while (dsm_waiters_head_ != nullptr && !free_dsm_buffers_.empty()) {
        Request* next = dsm_waiters_head_;
        dsm_waiters_head_ = next->next_dsm_waiter;
        if (dsm_waiters_head_ == nullptr) {
            dsm_waiters_tail_ = nullptr;
        }
        dataset_management(*next);
    }
    resuming_dsm_ = false;
}

}  // namespace vhostd::nvme

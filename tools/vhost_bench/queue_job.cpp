// QueueJob: submission, completion and verify bookkeeping of one queue.
#include "queue_job.hpp"

#include <algorithm>
#include <cstdio>

namespace vhostd::bench {
namespace {

constexpr unsigned kRandomTries = 16;       // verify: random picks before scanning for a free unit
constexpr uint64_t kMaxReportedErrors = 8;  // per queue; the counters carry the rest

}  // namespace

template <class Queue>
QueueJob<Queue>::QueueJob(Queue& queue, const BenchOptions& options, const Setup& setup)
    : queue_(queue),
      options_(options),
      setup_(setup),
      generator_(options.rw, options.rwmixread, setup.slice,
                 0x5eed0000ULL + setup.index * 7919ULL + setup.generation),
      pacer_(setup.rate, options.iodepth),
      depth_(options.iodepth),
      sectors_per_unit_(options.bs / kSector) {
    if (options.verify) {
        verify_ = VerifyMap(setup.slice.first_unit, setup.slice.units);
        // Two I/Os to one block are never in flight at once, so a tiny slice bounds the depth.
        depth_ = static_cast<uint16_t>(std::min<uint64_t>(depth_, setup.slice.units));
    }
}

template <class Queue>
Result<void> QueueJob<Queue>::init(frontend::GuestRam& ram) {
    slots_.resize(depth_);
    free_.reserve(depth_);
    for (uint16_t i = 0; i < depth_; ++i) {
        slots_[i].buffer = VHOSTD_TRY(ram.alloc(options_.bs, 4096));
        // Written data without --verify: any fixed pattern will do.
        std::fill_n(slots_[i].buffer.host, options_.bs, static_cast<uint8_t>(0xa5 ^ i));
        free_.push_back(static_cast<uint16_t>(depth_ - 1 - i));
    }
    completions_.resize(depth_ == 0 ? 1 : depth_);
    return {};
}

template <class Queue>
bool QueueJob<Queue>::start(uint16_t slot_index, uint64_t unit, bool write,
                            uint64_t now_ns) noexcept {
    Slot& slot = slots_[slot_index];
    const uint64_t lba = setup_.first_lba + unit * sectors_per_unit_;
    if (options_.verify) {
        if (write) {
            slot.version = verify_.next_version(unit);
            stamp_block(slot.buffer.bytes(), lba, setup_.generation, slot.version);
        }
        verify_.set_busy(unit, true);
    }
    const frontend::DataSegment data{slot.buffer.gpa, options_.bs};
    const bool ok = write ? queue_.submit_write(slot_index, lba, {&data, 1})
                          : queue_.submit_read(slot_index, lba, {&data, 1});
    if (!ok) [[unlikely]] {
        if (options_.verify) {
            verify_.set_busy(unit, false);
        }
        return false;
    }
    slot.unit = unit;
    slot.write = write;
    slot.submit_ns = now_ns;
    slot.readback = false;
    free_.pop_back();
    return true;
}

template <class Queue>
bool QueueJob<Queue>::pick_free_unit(OpGenerator::Op& op) noexcept {
    for (unsigned i = 0; i < kRandomTries; ++i) {
        if (!verify_.busy(op.unit)) {
            return true;
        }
        op = generator_.next();
    }
    // Fewer units in flight than the slice holds (depth is clamped): a scan finds one.
    const Slice& slice = generator_.slice();
    for (uint64_t i = 0; i < slice.units; ++i) {
        const uint64_t unit = slice.first_unit + (op.unit - slice.first_unit + i) % slice.units;
        if (!verify_.busy(unit)) {
            op.unit = unit;
            return true;
        }
    }
    return false;
}

template <class Queue>
unsigned QueueJob<Queue>::submit(uint64_t now_ns) noexcept {
    uint64_t budget = std::min<uint64_t>(free_.size(), setup_.quota - started_);
    if (!pacer_.unlimited()) {
        budget = std::min(budget, pacer_.allowance(now_ns, started_));
    }
    unsigned n = 0;
    for (; n < budget; ++n) {
        OpGenerator::Op op = generator_.next();
        if (options_.verify && !pick_free_unit(op)) {
            break;
        }
        if (!start(free_.back(), op.unit, op.write, now_ns)) {
            break;
        }
    }
    started_ += n;
    if (n != 0) {
        queue_.kick();  // one publish (and at most one eventfd write) per batch
    }
    return n;
}

template <class Queue>
void QueueJob<Queue>::begin_readback() noexcept {
    readback_cursor_ = verify_.first_unit();
}

template <class Queue>
bool QueueJob<Queue>::submit_readback(uint64_t now_ns) noexcept {
    const uint64_t end = verify_.first_unit() + verify_.units();
    unsigned n = 0;
    while (!free_.empty() && readback_cursor_ != end) {
        const uint64_t unit = readback_cursor_;
        const uint32_t v = verify_.version(unit);
        if (v == VerifyMap::kUnwritten || v == VerifyMap::kUnknown) {
            ++readback_cursor_;
            continue;
        }
        const uint16_t slot = free_.back();
        if (!start(slot, unit, false, now_ns)) {
            break;
        }
        slots_[slot].readback = true;
        ++readback_cursor_;
        ++n;
    }
    if (n != 0) {
        queue_.kick();
    }
    return readback_cursor_ != end;
}

template <class Queue>
void QueueJob<Queue>::complete(Slot& slot, uint8_t status) noexcept {
    const bool ok = status == frontend::blk::status::kOk;
    if (!ok) {
        ++counters_.errors;
        if (counters_.errors <= kMaxReportedErrors) {
            std::fprintf(stderr, "queue %u: %s of unit %llu failed with status %u\n", setup_.index,
                         slot.write ? "write" : "read", static_cast<unsigned long long>(slot.unit),
                         status);
        }
    }
    if (slot.readback) {
        ++counters_.readback;
    } else {
        ++(slot.write ? counters_.writes : counters_.reads);
        counters_.bytes += options_.bs;
    }
    if (!options_.verify) {
        return;
    }
    verify_.set_busy(slot.unit, false);
    if (slot.write) {
        // A failed write leaves the block undefined: stop checking it.
        verify_.set_version(slot.unit, ok ? slot.version : VerifyMap::kUnknown);
        return;
    }
    const uint32_t expected = verify_.version(slot.unit);
    if (!ok || expected == VerifyMap::kUnwritten || expected == VerifyMap::kUnknown) {
        return;
    }
    ++counters_.verified_blocks;
    uint64_t bad_lba = 0;
    const uint64_t lba = setup_.first_lba + slot.unit * sectors_per_unit_;
    const VerifyError error =
        check_block(slot.buffer.bytes(), lba, setup_.generation, expected, bad_lba);
    if (error != VerifyError::none) {
        ++counters_.verify_errors;
        if (counters_.verify_errors <= kMaxReportedErrors) {
            std::fprintf(stderr, "queue %u: verify failed at LBA %llu: %s (expected version %u)\n",
                         setup_.index, static_cast<unsigned long long>(bad_lba), to_string(error),
                         expected);
        }
    }
}

template <class Queue>
// free_ was reserved for every slot, so its push_back never allocates; only a broken ring's
// error (a string) could, and then terminating the benchmark is what noexcept means here.
// NOLINTNEXTLINE(bugprone-exception-escape)
Result<unsigned> QueueJob<Queue>::reap(uint64_t now_ns, LatencyHistogram& latency) noexcept {
    const size_t n = VHOSTD_TRY(queue_.poll(completions_));
    for (size_t i = 0; i < n; ++i) {
        const auto slot_index = static_cast<uint16_t>(completions_[i].tag);
        Slot& slot = slots_[slot_index];
        if (!slot.readback) {
            latency.record(now_ns - slot.submit_ns);
        }
        complete(slot, completions_[i].status);
        free_.push_back(slot_index);
    }
    if (n != 0) {
        progress_.store(counters_.reads + counters_.writes, std::memory_order_relaxed);
    }
    return static_cast<unsigned>(n);
}

template class QueueJob<frontend::BlkQueue>;
template class QueueJob<NvmeBenchQueue>;

}  // namespace vhostd::bench

// BlkQueue: the virtio-blk request path on one reactor.
#include "devices/virtio_blk/blk_queue.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "base/iovec.hpp"
#include "base/log.hpp"

namespace vhostd::virtio_blk {
namespace {

constexpr unsigned kBatch = 32;   // requests taken per poll
constexpr size_t kIovSlack = 16;  // extra iovecs for buffers that cross memory regions

// The one place where block-layer outcomes become virtio-blk status codes.
uint8_t to_status(block::IoStatus io) {
    switch (io) {
        case block::IoStatus::success:
            return status::kOk;
        case block::IoStatus::unsupported:
            return status::kUnsupp;
        case block::IoStatus::io_error:
        case block::IoStatus::no_space:
        case block::IoStatus::aborted:
            return status::kIoErr;
    }
    return status::kIoErr;
}

}  // namespace

struct BlkQueue::Request final : block::IoCompletion {
    BlkQueue* queue = nullptr;
    std::span<iovec> storage;  // this request's slice of the queue's iovec arena
    uint16_t head = 0;
    uint8_t* status = nullptr;  // host address of the request's status byte
    uint32_t data_written = 0;  // bytes the device writes on success (IN: the data)
    bool flush_after_write = false;
    block::IoRequest io;

    void io_complete(block::IoRequest&) noexcept override { queue->on_io_complete(*this); }
};

BlkQueue::BlkQueue(reactor::Reactor& reactor, virtio::Virtqueue queue, const BlkDevice& device,
                   std::unique_ptr<block::BackendChannel> channel)
    : QueueHandler(reactor, std::move(queue)), device_(device), channel_(std::move(channel)) {
    const uint16_t size = this->queue().ring().size();
    const BlkDeviceOptions& options = device.options();
    // A chain may hold seg_max data segments plus header and status, even if that is more
    // than a small queue's size (indirect tables); anything longer is a looping chain.
    chain_limits_ = virtio::ChainLimits{
        .max_descriptors = std::max<uint32_t>(size, options.seg_max + 2),
        .max_total_bytes = sizeof(RequestHeader) + 1 + uint64_t{options.seg_max} * options.size_max,
    };
    const size_t per_request = options.seg_max + 2 + kIovSlack;
    iov_arena_.resize(size * per_request);
    // One context per ring slot: the driver can never have more requests outstanding.
    requests_.resize(size);
    free_.reserve(size);
    for (size_t i = 0; i < size; ++i) {
        requests_[i].queue = this;
        requests_[i].storage = std::span(iov_arena_).subspan(i * per_request, per_request);
        free_.push_back(&requests_[i]);
    }
}

BlkQueue::~BlkQueue() = default;

reactor::PollResult BlkQueue::process_requests() noexcept {
    // Take the batch off the avail ring first and prefetch its descriptors, then walk them.
    std::array<uint16_t, kBatch> heads;
    unsigned taken = 0;
    const size_t limit = std::min<size_t>(kBatch, free_.size());
    while (taken < limit) {
        const std::optional<uint16_t> head = queue().ring().pop();
        if (!head) {
            break;
        }
        queue().ring().prefetch(*head);
        heads[taken++] = *head;
    }
    for (unsigned i = 0; i < taken && !queue().ring().broken(); ++i) {
        Request& request = *free_.back();
        free_.pop_back();
        start(request, heads[i]);
    }
    return taken != 0 ? reactor::PollResult::busy : reactor::PollResult::idle;
}

void BlkQueue::start(Request& request, uint16_t head) {
    virtio::DescriptorChain chain = queue().ring().walk(head, chain_limits_, request.storage);
    if (virtio::is_ring_error(chain.error)) {
        free_.push_back(&request);  // the ring is broken; nothing can be completed
        return;
    }
    // 5.2.6: the status byte is the last byte of the chain and device-writable. Without one
    // the request cannot be answered, and completing it silently could acknowledge a write
    // that never happened: treat the ring as broken instead.
    const virtio::ChainDescriptor& last = chain.last;
    uint8_t* status = nullptr;
    if (last.writable && last.len > 0 &&
        last.addr <= std::numeric_limits<uint64_t>::max() - (last.len - 1)) {
        status = static_cast<uint8_t*>(queue().memory().host_address(last.addr + last.len - 1, 1));
    }
    if (status == nullptr) {
        free_.push_back(&request);
        fail_queue("request without a writable status byte");
        return;
    }

    request_started();
    request.head = head;
    request.status = status;
    request.data_written = 0;
    request.flush_after_write = false;
    if (chain.error != virtio::ChainError::none) {
        LOG_RATELIMITED(virtio_blk, warn, "queue {}: bad request: {}", queue().index(),
                        virtio::to_string(chain.error));
        finish(request, status::kIoErr, 0);
        return;
    }

    std::span<iovec> writable = iov_drop_back(chain.writable(), 1);
    const BlkCommand command = parse_request(chain.readable(), writable, device_.limits());
    switch (command.action) {
        case BlkAction::complete:
            finish(request, command.status, 0);
            return;
        case BlkAction::get_id: {
            // 5.2.6: a NUL-padded string of up to 20 bytes.
            std::array<uint8_t, kIdBytes> id{};
            std::copy(device_.id().begin(), device_.id().end(), id.begin());
            const size_t n = iov_copy_in(command.data, 0, id.data(), id.size());
            finish(request, status::kOk, static_cast<uint32_t>(n));
            return;
        }
        case BlkAction::submit:
            break;
    }
    request.io = block::IoRequest{
        .type = command.io,
        .unmap = command.unmap,
        .offset = command.offset,
        .length = command.length,
        .iov = command.data.data(),
        .iovcnt = static_cast<uint32_t>(command.data.size()),
        .completion = &request,
    };
    if (command.io == block::IoType::read) {
        request.data_written = static_cast<uint32_t>(command.length);
    }
    const bool modifies = command.io == block::IoType::write ||
                          command.io == block::IoType::write_zeroes ||
                          command.io == block::IoType::discard;
    request.flush_after_write =
        modifies && device_.limits().volatile_cache && device_.writes_must_be_stable();
    channel_->submit(request.io);
}

void BlkQueue::on_io_complete(Request& request) {
    if (request.io.status == block::IoStatus::success && request.flush_after_write) {
        // Writethrough: the write is only complete once it is stable.
        request.flush_after_write = false;
        request.io = block::IoRequest{.type = block::IoType::flush, .completion = &request};
        channel_->submit(request.io);
        return;
    }
    const bool ok = request.io.status == block::IoStatus::success;
    if (!ok) {
        LOG_RATELIMITED(virtio_blk, warn, "queue {}: {} at offset {} failed: {}", queue().index(),
                        block::to_string(request.io.type), request.io.offset,
                        block::to_string(request.io.status));
    }
    finish(request, to_status(request.io.status), ok ? request.data_written : 0);
}

void BlkQueue::finish(Request& request, uint8_t status_code, uint32_t data_written) {
    *request.status = status_code;
    complete(request.head, data_written + 1);
    free_.push_back(&request);
}

}  // namespace vhostd::virtio_blk

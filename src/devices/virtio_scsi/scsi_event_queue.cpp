// ScsiEventQueue: keeping the driver's event buffers and filling them.
#include "devices/virtio_scsi/scsi_event_queue.hpp"

#include "base/iovec.hpp"
#include "base/log.hpp"

namespace vhostd::virtio_scsi {
namespace {

constexpr size_t kIovPerBuffer = 4;  // a 16-byte event split over more buffers is refused

}  // namespace

ScsiEventQueue::ScsiEventQueue(reactor::Reactor& reactor, virtio::RunningQueue queue,
                               std::shared_ptr<ScsiReactorState> state)
    : QueueHandler(reactor, std::move(queue)), state_(std::move(state)) {
    const uint16_t size = this->queue().ring().size();
    iov_arena_.resize(size_t{size} * kIovPerBuffer);
    kept_.resize(size);
    state_->register_event_queue(*this);
}

ScsiEventQueue::~ScsiEventQueue() {
    state_->unregister_event_queue(*this);
}

void ScsiEventQueue::start_request(uint32_t slot) noexcept {
    const auto head = static_cast<uint16_t>(slot);
    const virtio::ChainLimits limits{.max_descriptors = queue().ring().size(),
                                     .max_total_bytes = 1 << 20};
    const size_t kept = (first_ + count_) % kept_.size();
    std::span<iovec> storage = std::span(iov_arena_).subspan(kept * kIovPerBuffer, kIovPerBuffer);
    virtio::DescriptorChain chain = queue().ring().walk(head, limits, storage);
    if (virtio::is_ring_error(chain.error)) {
        return;
    }
    // 5.6.6.3: event buffers are device-writable and hold a whole virtio_scsi_event.
    if (chain.error != virtio::ChainError::none || chain.readable_bytes != 0 ||
        chain.writable_bytes < sizeof(Event)) {
        LOG_RATELIMITED(virtio_scsi, warn, "event queue: unusable buffer ({} bytes, {})",
                        chain.writable_bytes, virtio::to_string(chain.error));
        request_started();
        complete(head, 0, {});
        return;
    }
    kept_[kept] = Buffer{head, chain.writable()};
    ++count_;
}

bool ScsiEventQueue::after_batch() noexcept {
    const size_t before = pending_count_;
    deliver_pending();
    return pending_count_ != before;
}

void ScsiEventQueue::memory_replaced(const guest_memory::GuestMemory& memory) noexcept {
    for (size_t i = 0; i < count_; ++i) {
        for (const iovec& iov : kept_[(first_ + i) % kept_.size()].iov) {
            if (iov.iov_len != 0 && !memory.gpa_of(iov.iov_base, iov.iov_len)) {
                // The frontend took memory away under buffers the driver lent us: they are
                // dropped unanswered (writing them would touch unmapped memory) and the queue
                // stops (NEEDS_RESET); the driver reposts its buffers after the reset.
                count_ = 0;
                fail_queue("an event buffer's memory was removed");
                return;
            }
        }
    }
}

void ScsiEventQueue::post(const Event& event) {
    if (queue().broken()) {
        return;
    }
    if (count_ == 0) {
        if (pending_count_ < pending_.size()) {
            pending_[pending_count_++] = event;
            return;
        }
        LOG_RATELIMITED(virtio_scsi, warn, "event queue {}: no buffer, event {} dropped",
                        queue().index(), event.event);
        missed_ = true;
        return;
    }
    fill(event);
    queue().flush_used();  // outside poll(): publish and interrupt now
}

void ScsiEventQueue::deliver_pending() {
    size_t delivered = 0;
    while (delivered < pending_count_ && count_ != 0) {
        fill(pending_[delivered++]);
    }
    std::move(pending_.begin() + static_cast<std::ptrdiff_t>(delivered),
              pending_.begin() + static_cast<std::ptrdiff_t>(pending_count_), pending_.begin());
    pending_count_ -= delivered;
    if (missed_ && count_ != 0) {
        // Tell the driver, as soon as it can hear it, that it missed something.
        fill(Event{.event = event::kNoEvent});
    }
}

void ScsiEventQueue::fill(const Event& event) {
    Event out = event;
    if (missed_) {
        out.event |= event::kEventsMissed;
        missed_ = false;
    }
    const Buffer& buffer = kept_[first_];
    first_ = (first_ + 1) % kept_.size();
    --count_;
    iov_copy_in(buffer.iov, 0, &out, sizeof(out));
    request_started();
    complete(buffer.head, sizeof(out), buffer.iov);
}

}  // namespace vhostd::virtio_scsi

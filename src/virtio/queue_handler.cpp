// QueueHandler: the virtqueue side of the queue engine.
#include "virtio/queue_handler.hpp"

namespace vhostd::virtio {

QueueHandler::QueueHandler(reactor::Reactor& reactor, RunningQueue queue)
    : QueueEngine(reactor), queue_(std::move(queue)), taken_generation_(queue_.ring().size()) {
    queue_.set_stats(counters());
}

QueueHandler::~QueueHandler() {
    if (kick_watch_) {
        reactor().unwatch_fd(*kick_watch_);
    }
}

Result<void> QueueHandler::start() {
    if (queue_.kick_fd() >= 0) {
        // Kicks only matter while the reactor sleeps; the reactor just consumes them.
        kick_watch_ = VHOSTD_TRY(reactor().watch_wake_fd(queue_.kick_fd()));
    }
    queue_.leave_interrupt_mode();  // we poll from now on: no kicks needed
    start_polling();
    return {};
}

void QueueHandler::stop(StoppedCallback done) {
    QueueEngine::stop([this, done = std::move(done)]() mutable {
        if (kick_watch_) {
            reactor().unwatch_fd(*kick_watch_);
            kick_watch_.reset();
        }
        done(QueueStopResult{queue_.ring().ring_base(), queue_.broken()});
    });
}

void QueueHandler::complete(uint16_t head, uint32_t written,
                            std::span<const iovec> device_written) {
    queue_.log_written(device_written);
    queue_.ring().push_used(head, written);
    request_finished();
    --outstanding_;
    if (old_memory_released_) [[unlikely]] {
        if (head < taken_generation_.size() && taken_generation_[head] != generation_) {
            --old_outstanding_;
        }
        release_old_memory_if_unused();
    }
}

void QueueHandler::update_memory(guest_memory::GuestMemory::Ptr memory, bool drain_old,
                                 std::move_only_function<void()> done) {
    queue_.replace_memory(std::move(memory), drain_old);
    memory_replaced(queue_.memory());
    ++generation_;
    if (!drain_old) {
        done();
        return;
    }
    // Every slot taken so far was taken under an older table. (The session waits for `done`
    // before it sends another change, so one removal at a time is pending.)
    old_outstanding_ = outstanding_;
    old_memory_released_ = std::move(done);
    release_old_memory_if_unused();
}

void QueueHandler::release_old_memory_if_unused() {
    // Slots taken but never started (a chain the ring refused) never complete: once nothing at
    // all is in flight, nothing can point into the old table either.
    if (old_outstanding_ != 0 && inflight() != 0) {
        return;
    }
    queue_.release_previous_memory();
    auto done = std::move(old_memory_released_);
    old_memory_released_ = nullptr;
    done();
}

void QueueHandler::fail_queue(const char* reason) {
    queue_.mark_broken(reason);
}

void QueueHandler::publish() noexcept {
    queue_.flush_used();
    queue_.report_if_broken();
}

void QueueHandler::publish_owed() noexcept {
    queue_.flush_owed_call();
}

size_t QueueHandler::take(std::span<uint32_t> slots) noexcept {
    const size_t n = queue_.ring().take(slots);
    for (size_t i = 0; i < n; ++i) {
        if (slots[i] < taken_generation_.size()) [[likely]] {
            taken_generation_[slots[i]] = generation_;
        }
    }
    outstanding_ += static_cast<uint32_t>(n);
    return n;
}

bool QueueHandler::arm_notifications() noexcept {
    return queue_.enter_interrupt_mode();
}

void QueueHandler::disarm_notifications() noexcept {
    queue_.leave_interrupt_mode();
}

}  // namespace vhostd::virtio

// QueueHandler: the queue mechanics shared by every virtio device.
#include "virtio/queue_handler.hpp"

#include <sys/epoll.h>

#include "base/event_fd.hpp"

namespace vhostd::virtio {

QueueHandler::QueueHandler(reactor::Reactor& reactor, Virtqueue queue)
    : reactor_(reactor), queue_(std::move(queue)) {
    queue_.set_stats(*stats_);
}

QueueHandler::~QueueHandler() {
    if (started_) {
        reactor_.remove_poller(*this);
    }
    if (kick_watch_) {
        reactor_.unwatch_fd(*kick_watch_);
    }
}

Result<void> QueueHandler::start() {
    if (queue_.kick_fd() >= 0) {
        const int fd = queue_.kick_fd();
        // Kicks only matter while the reactor sleeps; the callback just consumes them.
        kick_watch_ =
            VHOSTD_TRY(reactor_.watch_fd(fd, EPOLLIN, [fd](uint32_t) { drain_event_fd(fd); }));
    }
    queue_.leave_interrupt_mode();  // we poll from now on: no kicks needed
    reactor_.add_poller(*this);
    started_ = true;
    return {};
}

void QueueHandler::stop(StoppedCallback done) {
    stopping_ = true;
    on_stopped_ = std::move(done);
    finish_stop_if_drained();
}

void QueueHandler::complete(uint16_t head, uint32_t written) {
    queue_.ring().push_used(head, written);
    --inflight_;
    QueueStats::add(stats_->completions);
    QueueStats::set(stats_->inflight, inflight_);
    if (stopping_) {
        finish_stop_if_drained();
    }
}

void QueueHandler::fail_queue(const char* reason) {
    queue_.mark_broken(reason);
}

void QueueHandler::finish_stop_if_drained() {
    if (!stopping_ || inflight_ != 0 || !on_stopped_) {
        return;
    }
    queue_.flush_used();
    queue_.flush_owed_call();  // nothing may stay owed by interrupt coalescing
    if (started_) {
        reactor_.remove_poller(*this);
        started_ = false;
    }
    if (kick_watch_) {
        reactor_.unwatch_fd(*kick_watch_);
        kick_watch_.reset();
    }
    auto done = std::move(on_stopped_);
    on_stopped_ = nullptr;
    done(QueueStopResult{queue_.ring().last_avail_idx(), queue_.broken()});
}

reactor::PollResult QueueHandler::poll() noexcept {
    // Completions pushed since the last poll (by backend pollers) are published as one batch.
    queue_.flush_used();
    if (stopping_ || queue_.broken()) {
        return reactor::PollResult::idle;
    }
    const reactor::PollResult result = process_requests();
    queue_.flush_used();  // requests the device completed on the spot (errors, GET_ID)
    queue_.report_if_broken();
    QueueStats::add(result == reactor::PollResult::busy ? stats_->busy_polls : stats_->idle_polls);
    return result;
}

bool QueueHandler::enter_interrupt_mode() noexcept {
    queue_.flush_used();
    queue_.flush_owed_call();  // no timer would send it while the reactor sleeps
    if (stopping_ || queue_.broken()) {
        return true;  // nothing to take from the ring; completions wake us through the backend
    }
    return queue_.enter_interrupt_mode();
}

void QueueHandler::leave_interrupt_mode() noexcept {
    if (!stopping_ && !queue_.broken()) {
        queue_.leave_interrupt_mode();
    }
}

}  // namespace vhostd::virtio

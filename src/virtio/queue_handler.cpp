// QueueHandler: the virtqueue side of the queue engine.
#include "virtio/queue_handler.hpp"

#include <sys/epoll.h>

#include "base/event_fd.hpp"

namespace vhostd::virtio {

QueueHandler::QueueHandler(reactor::Reactor& reactor, RunningQueue queue)
    : QueueEngine(reactor), queue_(std::move(queue)) {
    queue_.set_stats(counters());
}

QueueHandler::~QueueHandler() {
    if (kick_watch_) {
        reactor().unwatch_fd(*kick_watch_);
    }
}

Result<void> QueueHandler::start() {
    if (queue_.kick_fd() >= 0) {
        const int fd = queue_.kick_fd();
        // Kicks only matter while the reactor sleeps; the callback just consumes them.
        kick_watch_ =
            VHOSTD_TRY(reactor().watch_fd(fd, EPOLLIN, [fd](uint32_t) { drain_event_fd(fd); }));
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
    return queue_.ring().take(slots);
}

bool QueueHandler::arm_notifications() noexcept {
    return queue_.enter_interrupt_mode();
}

void QueueHandler::disarm_notifications() noexcept {
    queue_.leave_interrupt_mode();
}

}  // namespace vhostd::virtio

// QueueEngine: batch loop, drain, interrupt mode.
#include "queue/queue_engine.hpp"

#include <algorithm>
#include <array>

namespace vhostd::queue {

QueueEngine::QueueEngine(reactor::Reactor& reactor) : reactor_(reactor) {}

QueueEngine::~QueueEngine() {
    if (polling_) {
        reactor_.remove_poller(*this);
    }
}

void QueueEngine::start_polling() {
    reactor_.add_poller(*this);
    polling_ = true;
}

void QueueEngine::stop(Stopped done) {
    stopping_ = true;
    on_stopped_ = std::move(done);
    finish_stop_if_drained();
}

void QueueEngine::request_started() noexcept {
    ++inflight_;
    QueueStats::add(stats_->requests);
    QueueStats::set(stats_->inflight, inflight_);
}

void QueueEngine::request_finished() noexcept {
    --inflight_;
    QueueStats::add(stats_->completions);
    QueueStats::set(stats_->inflight, inflight_);
    if (stopping_) {
        finish_stop_if_drained();
    }
}

void QueueEngine::finish_stop_if_drained() noexcept {
    if (!stopping_ || inflight_ != 0 || !on_stopped_) {
        return;
    }
    publish();
    publish_owed();
    if (polling_) {
        reactor_.remove_poller(*this);
        polling_ = false;
    }
    auto done = std::move(on_stopped_);
    on_stopped_ = nullptr;
    done();
}

reactor::PollResult QueueEngine::poll() noexcept {
    // Completions pushed since the last poll (by backend pollers) are published as one batch.
    publish();
    if (stopping_ || !accepting()) {
        return reactor::PollResult::idle;
    }
    std::array<uint32_t, kMaxBatch> slots;
    const size_t limit = std::min(kMaxBatch, free_requests());
    const size_t taken = limit != 0 ? take(std::span(slots).first(limit)) : 0;
    for (size_t i = 0; i < taken && accepting(); ++i) {
        start_request(slots[i]);
    }
    const bool more = after_batch();
    publish();  // requests the device completed on the spot (errors, GET_ID)
    const bool busy = taken != 0 || more;
    QueueStats::add(busy ? stats_->busy_polls : stats_->idle_polls);
    return busy ? reactor::PollResult::busy : reactor::PollResult::idle;
}

bool QueueEngine::enter_interrupt_mode() noexcept {
    publish();
    publish_owed();  // no poll sends an owed interrupt while the reactor sleeps
    if (stopping_ || !accepting()) {
        return true;  // nothing to take; completions wake the reactor through the backend
    }
    return arm_notifications();
}

void QueueEngine::leave_interrupt_mode() noexcept {
    if (!stopping_ && accepting()) {
        disarm_notifications();
    }
}

}  // namespace vhostd::queue

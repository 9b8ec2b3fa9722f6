// BdevChannel: statistics, QoS and health around a backend channel.
#include "block/bdev_channel.hpp"

#include "base/log.hpp"
#include "block/stats/clock.hpp"

namespace vhostd::block {

BdevChannel::BdevChannel(Bdev& bdev, reactor::Reactor& reactor,
                         std::unique_ptr<BackendChannel> backend)
    : bdev_(bdev),
      reactor_(reactor),
      backend_(std::move(backend)),
      stats_(bdev.stats().open_channel()) {
    reactor_.add_poller(*this);
}

BdevChannel::~BdevChannel() {
    reactor_.remove_poller(*this);
    if (!held_.empty() || !refused_.empty()) {
        // The owner broke the drain-before-destroy rule; these requests never complete.
        LOG_ERROR(block, "bdev {}: channel closed with requests still queued", bdev_.name());
    }
    backend_.reset();  // its completions refer to this channel
    bdev_.stats().close_channel(stats_);
}

void BdevChannel::submit(IoRequest& request) noexcept {
    const uint64_t now = stats::now_ticks();
    scratch(request).submit_ticks = now;
    stats_->on_submit(now);
    if (bdev_.state() != BdevState::online) [[unlikely]] {
        // A failed bdev answers errors until it recovers; a removed one for good.
        request.status =
            bdev_.state() == BdevState::removed ? IoStatus::aborted : IoStatus::io_error;
        scratch(request).upper = request.completion;
        refused_.push_back(request);
        return;
    }
    // Requests already waiting go first: a newcomer must not overtake them.
    if (bdev_.qos().enabled() && (!held_.empty() || !bdev_.qos().admit(request, now))) {
        stats_->on_qos_queued();
        held_.push_back(request);
        return;
    }
    start(request);
}

void BdevChannel::start(IoRequest& request) noexcept {
    scratch(request).upper = request.completion;
    request.completion = this;
    backend_->submit(request);
}

void BdevChannel::io_complete(IoRequest& request) noexcept {
    const uint64_t now = stats::now_ticks();
    stats_->on_complete(request, now, now - scratch(request).submit_ticks);
    // Restore the device's sink before calling it: it may resubmit the request at once.
    IoCompletion* upper = scratch(request).upper;
    request.completion = upper;
    scratch(request).upper = nullptr;
    upper->io_complete(request);
}

reactor::PollResult BdevChannel::poll() noexcept {
    unsigned done = 0;
    if (!refused_.empty()) [[unlikely]] {
        // Only what was refused before this poll: a callback that resubmits waits a turn.
        RequestList batch = refused_.take();
        while (IoRequest* request = batch.pop_front()) {
            io_complete(*request);
            ++done;
        }
    }
    if (held_.empty()) {
        return done != 0 ? reactor::PollResult::busy : reactor::PollResult::idle;
    }
    const uint64_t now = stats::now_ticks();
    // Bounded by the requests held (at most the queue's depth); stops at the first refusal so
    // that arrival order is kept.
    while (IoRequest* request = held_.front()) {
        if (bdev_.qos().enabled() && !bdev_.qos().admit(*request, now)) {
            break;
        }
        held_.pop_front();
        start(*request);
        ++done;
    }
    return done != 0 ? reactor::PollResult::busy : reactor::PollResult::idle;
}

}  // namespace vhostd::block

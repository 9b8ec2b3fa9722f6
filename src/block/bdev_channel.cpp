// BdevChannel: statistics and QoS around a backend channel.
#include "block/bdev_channel.hpp"

#include "base/log.hpp"
#include "block/stats/clock.hpp"

namespace vhostd::block {

Result<std::unique_ptr<BackendChannel>> open_channel(Bdev& bdev, reactor::Reactor& reactor) {
    std::unique_ptr<BackendChannel> backend = VHOSTD_TRY(bdev.create_channel(reactor));
    return std::make_unique<BdevChannel>(bdev, reactor, std::move(backend));
}

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
    if (!held_.empty()) {
        // The owner broke the drain-before-destroy rule; these requests never complete.
        LOG_ERROR(block, "bdev {}: channel closed with requests held back by QoS", bdev_.name());
    }
    backend_.reset();  // its completions refer to this channel
    bdev_.stats().close_channel(stats_);
}

void BdevChannel::submit(IoRequest& request) noexcept {
    const uint64_t now = stats::now_ticks();
    request.submit_ns = now;
    stats_->on_submit(now);
    // Requests already waiting go first: a newcomer must not overtake them.
    if (bdev_.qos().enabled() && (!held_.empty() || !bdev_.qos().admit(request, now))) {
        stats_->on_qos_queued();
        held_.push_back(request);
        return;
    }
    start(request);
}

void BdevChannel::start(IoRequest& request) noexcept {
    request.upper_completion = request.completion;
    request.completion = this;
    backend_->submit(request);
}

void BdevChannel::io_complete(IoRequest& request) noexcept {
    const uint64_t now = stats::now_ticks();
    stats_->on_complete(request, now, now - request.submit_ns);
    // Restore the device's sink before calling it: it may resubmit the request at once.
    IoCompletion* upper = request.upper_completion;
    request.completion = upper;
    request.upper_completion = nullptr;
    upper->io_complete(request);
}

reactor::PollResult BdevChannel::poll() noexcept {
    if (held_.empty()) {
        return reactor::PollResult::idle;
    }
    const uint64_t now = stats::now_ticks();
    unsigned started = 0;
    // Bounded by the requests held (at most the queue's depth); stops at the first refusal so
    // that arrival order is kept.
    while (IoRequest* request = held_.front()) {
        if (bdev_.qos().enabled() && !bdev_.qos().admit(*request, now)) {
            break;
        }
        held_.pop_front();
        start(*request);
        ++started;
    }
    return started != 0 ? reactor::PollResult::busy : reactor::PollResult::idle;
}

}  // namespace vhostd::block

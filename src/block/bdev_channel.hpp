// BdevChannel: the bdev layer's channel, which every device opens (open_channel) instead of
// the backend's own. It wraps the backend channel the way SPDK's bdev channel does: it counts
// every request into the bdev's statistics on completion, and holds back requests over the
// bdev's QoS limits until a later 1 ms timeslice has tokens for them.
#pragma once

#include <memory>

#include "block/bdev.hpp"
#include "block/request_list.hpp"
#include "reactor/poller.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::block {

// Opens `bdev`'s channel on `reactor` (call on that reactor's thread). The caller keeps the
// bdev alive for as long as the channel (devices hold the bdev's shared_ptr).
Result<std::unique_ptr<BackendChannel>> open_channel(Bdev& bdev, reactor::Reactor& reactor);

class BdevChannel final : public BackendChannel, public reactor::Poller, private IoCompletion {
  public:
    BdevChannel(Bdev& bdev, reactor::Reactor& reactor, std::unique_ptr<BackendChannel> backend);
    ~BdevChannel() override;
    BdevChannel(const BdevChannel&) = delete;
    BdevChannel& operator=(const BdevChannel&) = delete;

    void submit(IoRequest& request) noexcept override;

    // Releases requests held back by QoS once their timeslice has tokens (or QoS is lifted).
    reactor::PollResult poll() noexcept override;
    // Held-back requests keep the reactor polling: no event would wake it for them.
    bool enter_interrupt_mode() noexcept override { return held_.empty(); }

    [[nodiscard]] const stats::ChannelStats& stats() const { return *stats_; }

  private:
    void io_complete(IoRequest& request) noexcept override;
    void start(IoRequest& request) noexcept;

    Bdev& bdev_;
    reactor::Reactor& reactor_;
    std::unique_ptr<BackendChannel> backend_;
    std::shared_ptr<stats::ChannelStats> stats_;
    RequestList held_;  // over the QoS budget, in arrival order
};

}  // namespace vhostd::block

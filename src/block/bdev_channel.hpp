// BdevChannel: the bdev layer's channel, which every user opens (open_channel in bdev.hpp)
// instead of the backend's own. It wraps the backend channel the way SPDK's bdev channel
// does: it counts every request into the bdev's statistics on completion, holds back requests
// over the bdev's QoS limits until a later 1 ms timeslice has tokens for them, and completes
// requests with an error at once while the bdev is failed or removed.
#pragma once

#include <memory>

#include "block/bdev.hpp"
#include "block/module/bdev_module.hpp"
#include "block/module/request_list.hpp"
#include "reactor/poller.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::block {

class BdevChannel final : public IoChannel, public reactor::Poller, private IoCompletion {
  public:
    BdevChannel(Bdev& bdev, reactor::Reactor& reactor, std::unique_ptr<BackendChannel> backend);
    ~BdevChannel() override;
    BdevChannel(const BdevChannel&) = delete;
    BdevChannel& operator=(const BdevChannel&) = delete;

    void submit(IoRequest& request) noexcept override;

    // Releases requests held back by QoS once their timeslice has tokens (or QoS is lifted),
    // and completes the ones refused while the bdev was not online.
    reactor::PollResult poll() noexcept override;
    // Held-back or refused requests keep the reactor polling: no event would wake it for them.
    bool enter_interrupt_mode() noexcept override { return held_.empty() && refused_.empty(); }

    [[nodiscard]] const stats::ChannelStats& stats() const { return *stats_; }

  private:
    void io_complete(IoRequest& request) noexcept override;
    void start(IoRequest& request) noexcept;

    Bdev& bdev_;
    reactor::Reactor& reactor_;
    std::unique_ptr<BackendChannel> backend_;
    std::shared_ptr<stats::ChannelStats> stats_;
    RequestList held_;     // over the QoS budget, in arrival order
    RequestList refused_;  // the bdev was not online: completed with an error by poll()
};

}  // namespace vhostd::block

// DeferredChannel: the channel of a backend that does its work synchronously (malloc, null).
// submit() does the work at once but queues the completion; the channel's poller, registered
// on the reactor, delivers it on a later iteration, so completions never run inside submit().
#pragma once

#include <string>

#include "block/bdev.hpp"
#include "block/module/bdev_module.hpp"
#include "block/module/request_check.hpp"
#include "block/module/request_list.hpp"
#include "reactor/poller.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::block {

class DeferredChannel : public BackendChannel, public reactor::Poller {
  public:
    // Registers the poller; call on `reactor`'s thread.
    DeferredChannel(reactor::Reactor& reactor, const Bdev& bdev);
    ~DeferredChannel() override;
    DeferredChannel(const DeferredChannel&) = delete;
    DeferredChannel& operator=(const DeferredChannel&) = delete;

    void submit(IoRequest& request) noexcept final;
    reactor::PollResult poll() noexcept override;
    // Completions already queued (a callback resubmitted) keep the reactor awake.
    bool enter_interrupt_mode() noexcept override { return done_.empty(); }

  protected:
    // Does the work of a request check_request() accepted and returns its outcome.
    virtual IoStatus execute(IoRequest& request) noexcept = 0;

  private:
    reactor::Reactor& reactor_;
    const std::string bdev_name_;  // for log messages
    const RequestLimits limits_;
    RequestList done_;
};

}  // namespace vhostd::block

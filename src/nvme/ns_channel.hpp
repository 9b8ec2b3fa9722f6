// NsChannel: a namespace as one reactor reaches it: the bdev's I/O channel on that reactor,
// opened asynchronously (commands that arrive before it is open wait here, in order, and go
// on when it opens or fail when it cannot), and the count of commands that still use it, so
// that a detached namespace is let go only once they are done. Owner reactor only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "block/bdev.hpp"
#include "nvme/namespace.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::nvme {

// A command waiting for the channel to open (intrusive: nothing is allocated to wait).
class ChannelWaiter {
  public:
    // The channel is open (or failed to open: then ready() is false).
    virtual void channel_ready() noexcept = 0;
    ChannelWaiter* next_waiter = nullptr;

  protected:
    ~ChannelWaiter() = default;
};

class NsChannel {
  public:
    // Starts opening the bdev's channel on `reactor` (call on its thread).
    NsChannel(reactor::Reactor& reactor, std::shared_ptr<const Namespace> ns);
    ~NsChannel();
    NsChannel(const NsChannel&) = delete;
    NsChannel& operator=(const NsChannel&) = delete;

    [[nodiscard]] const Namespace& ns() const { return *ns_; }
    [[nodiscard]] bool ready() const { return channel_ != nullptr; }
    [[nodiscard]] bool opening() const { return !channel_ && !open_failed_; }

    // Parks `waiter` until the channel opens (or fails to).
    void wait(ChannelWaiter& waiter) noexcept;
    void submit(block::IoRequest& request) noexcept { channel_->submit(request); }

    // Commands using this namespace here; the owner counts them in and out.
    void acquire() noexcept { ++users_; }
    void release() noexcept;
    // Runs `done` (never inline) once no command uses the namespace any more.
    void when_idle(std::move_only_function<void()> done);

  private:
    void opened(Result<std::unique_ptr<block::IoChannel>> channel);
    void wake_waiters() noexcept;

    reactor::Reactor& reactor_;
    std::shared_ptr<const Namespace> ns_;
    std::unique_ptr<block::IoChannel> channel_;
    bool open_failed_ = false;
    ChannelWaiter* waiters_head_ = nullptr;
    ChannelWaiter* waiters_tail_ = nullptr;
    uint64_t users_ = 0;
    std::move_only_function<void()> on_idle_;
    // The open callback checks this: the channel may be destroyed before the bdev answers.
    std::shared_ptr<NsChannel*> alive_ = std::make_shared<NsChannel*>(this);
};

}  // namespace vhostd::nvme

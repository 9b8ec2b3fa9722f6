// PassthroughChannel: the channel of a bdev stacked on another bdev (the fault-injecting delay
// and error bdevs). Each request it is given is forwarded to the base bdev's channel as a
// child request from a preallocated pool (the parent's scratch belongs to the layers above);
// a subclass decides per request whether to forward, fail or hold it, and what to do once the
// base has finished it. Completions always come from poll(), never inline.
#pragma once

#include <memory>
#include <vector>

#include "block/bdev.hpp"
#include "block/module/bdev_module.hpp"
#include "block/module/request_list.hpp"
#include "reactor/poller.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::block {

class PassthroughChannel : public BackendChannel, public reactor::Poller {
  public:
    // Requests forwarded at once at most; more wait (in order) for a child to be free.
    static constexpr size_t kMaxChildren = 1024;

    PassthroughChannel(reactor::Reactor& reactor, std::unique_ptr<IoChannel> base);
    ~PassthroughChannel() override;
    PassthroughChannel(const PassthroughChannel&) = delete;
    PassthroughChannel& operator=(const PassthroughChannel&) = delete;

    void submit(IoRequest& request) noexcept final;
    reactor::PollResult poll() noexcept final;
    bool enter_interrupt_mode() noexcept final;

    // Requests accepted and not yet completed.
    [[nodiscard]] uint32_t in_flight() const { return in_flight_; }

  protected:
    enum class Verdict : uint8_t { forward, fail, hold };

    // A new request: forward it, fail it with `status`, or hold it (the subclass keeps it and
    // hands it to forward() or complete_later() later).
    virtual Verdict admit(IoRequest& request, IoStatus& status) noexcept = 0;
    // The base finished `request` (its status is set): complete it now (complete_later) or
    // keep it a while.
    virtual void finished(IoRequest& request) noexcept { complete_later(request); }
    // Time- or event-driven work of the subclass, on every poll; true if it did something.
    virtual bool tick() noexcept { return false; }
    // The subclass holds requests that need polling to make progress (no event wakes them).
    [[nodiscard]] virtual bool holding() const noexcept { return false; }

    void forward(IoRequest& request) noexcept;
    void complete_later(IoRequest& request) noexcept;
    [[nodiscard]] reactor::Reactor& reactor() { return reactor_; }

  private:
    struct Child final : IoCompletion {
        IoRequest io;
        IoRequest* parent = nullptr;
        PassthroughChannel* owner = nullptr;
        void io_complete(IoRequest&) noexcept override { owner->child_done(*this); }
    };

    void start_child(IoRequest& request, Child& child) noexcept;
    void child_done(Child& child) noexcept;

    reactor::Reactor& reactor_;
    std::unique_ptr<IoChannel> base_;
    std::vector<Child> children_;
    std::vector<Child*> free_;
    RequestList waiting_;  // forwarded while every child was busy
    RequestList done_;     // to complete on the next poll
    uint32_t in_flight_ = 0;
};

}  // namespace vhostd::block

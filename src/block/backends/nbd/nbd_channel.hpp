// NbdChannel: a bdev channel over its own NBD connection (NbdLink) on one reactor. Requests go
// out as NBD commands straight from the request's iovecs (one command per iovec: zero copy);
// completions are counted in libnbd's free callback, which runs exactly once per command also
// when the connection is closed under it, and are delivered by the channel's poller, never
// inside submit(). A request with no answer within the I/O timeout breaks the connection (so
// no late reply can land in guest memory the guest already reused) and fails with every other
// request in flight; while the connection is down new requests wait, up to the same timeout,
// for the reconnect.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "block/backends/nbd/nbd_link.hpp"
#include "block/module/bdev_module.hpp"
#include "block/module/request_check.hpp"
#include "block/module/request_list.hpp"
#include "reactor/poller.hpp"

namespace vhostd::block {

// Counters one NBD bdev shares with its channels (any thread reads them).
struct NbdCounters {
    std::atomic<uint64_t> channels{0};    // open channels (one connection each)
    std::atomic<uint64_t> connected{0};   // of those, connected now
    std::atomic<uint64_t> reconnects{0};  // connections re-established
    std::atomic<uint64_t> timeouts{0};    // requests that got no answer in time
    std::atomic<uint64_t> inflight{0};    // NBD commands on the wire
    std::atomic<uint64_t> waiting{0};     // requests waiting for a connection
};

class NbdChannel final : public BackendChannel, public reactor::Poller {
  public:
    struct Options {
        NbdLink::Options link;
        std::chrono::milliseconds io_timeout{30'000};
        // Called on the channel's reactor when a (re)connection finds the export at another
        // size than the bdev's (the server was restarted with a resized disk).
        std::function<void(uint64_t bytes)> export_resized;
    };
    NbdChannel(reactor::Reactor& reactor, const Bdev& bdev, Options options,
               std::shared_ptr<NbdCounters> counters);
    ~NbdChannel() override;
    NbdChannel(const NbdChannel&) = delete;
    NbdChannel& operator=(const NbdChannel&) = delete;

    void submit(IoRequest& request) noexcept override;
    reactor::PollResult poll() noexcept override;
    bool enter_interrupt_mode() noexcept override { return done_.empty(); }

    // libnbd's callbacks (user_data is the request).
    static int on_command(void* user_data, int* error);
    static void on_release(void* user_data);

  private:
    // Time is counted in epochs of an eighth of the timeout: a request stamped in epoch e is
    // late once the epoch reaches e + kEpochsPerTimeout + 1.
    static constexpr uint32_t kEpochsPerTimeout = 8;
    static constexpr uint32_t kEpochSlots = 16;

    void start(IoRequest& request) noexcept;
    void finish(IoRequest& request, IoStatus status) noexcept;
    void on_link(NbdLink::State state, const Error* error);
    void tick();

    reactor::Reactor& reactor_;
    const std::string bdev_name_;
    const RequestLimits limits_;
    Options options_;
    std::shared_ptr<NbdCounters> counters_;
    RequestList done_;
    RequestList waiting_;  // for a connection, in arrival (so epoch) order
    std::array<uint32_t, kEpochSlots> started_in_epoch_{};
    uint64_t epoch_ = kEpochSlots;  // never 0, so that "older than" needs no underflow care
    std::optional<reactor::Reactor::TimerId> tick_timer_;
    bool connected_ = false;
    bool closing_ = false;           // in the destructor: releases are only counted
    std::unique_ptr<NbdLink> link_;  // last: closed first
};

}  // namespace vhostd::block

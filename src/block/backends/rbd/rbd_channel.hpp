// RbdChannel: one reactor's submission path to an RBD image. Requests go to librbd's vectored
// async calls straight from the request's iovecs (zero copy); librbd completes them on its own
// threads, which only post the request to the channel's Mailbox; the reactor then finishes it.
// (librbd's other way, its event socket polled by the reactor, was measured against this one on
// the test cluster and was no faster: it writes the eventfd for every completion where the
// Mailbox does so only while the reactor sleeps, and it is one queue per image where channels
// are one per reactor. See bench/RESULTS.md.)
//
// Timeouts. librbd cannot cancel an I/O it has started, and until its completion returns it may
// still copy read data into the request's buffers (or, with zero-copy writes, read from them).
// So a request is never handed back to the device before librbd's completion has run: handing
// it back earlier would let the guest reuse a buffer that a late read then overwrites. What
// keeps requests from hanging is librados' own op timeout, which the backend sets from
// io_timeout_ms: the cluster's silence turns into an ETIMEDOUT completion at the timeout. The
// channel also keeps its own clock (epoch counts, an eighth of the timeout each, no timer per
// request): a request still unanswered after io_timeout_ms is counted as timed out and will
// complete with IOERR whatever librbd says; one still held a whole timeout later means librbd
// itself is stuck, and the bdev is reported failed (every new request then fails at once
// instead of joining the queue) until the held requests come back.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "block/backends/rbd/rbd_api.hpp"
#include "block/backends/rbd/rbd_image_state.hpp"
#include "block/module/bdev_module.hpp"
#include "block/module/request_check.hpp"
#include "reactor/mailbox.hpp"

namespace vhostd::block {

class RbdChannel final : public BackendChannel {
  public:
    // Call on `reactor`'s thread.
    static Result<std::unique_ptr<RbdChannel>> create(reactor::Reactor& reactor, const Bdev& bdev,
                                                      std::shared_ptr<RbdImageState> state,
                                                      std::chrono::milliseconds io_timeout);
    // The owner has drained every request (held ones included) first.
    ~RbdChannel() override;
    RbdChannel(const RbdChannel&) = delete;
    RbdChannel& operator=(const RbdChannel&) = delete;

    void submit(IoRequest& request) noexcept override;

    // rbd_io_done: a librbd thread hands `request` back.
    void answered(IoRequest& request, int64_t result) noexcept;

  private:
    // A request stamped in epoch e is overdue once the epoch reaches e + kEpochsPerTimeout + 1.
    static constexpr uint32_t kEpochsPerTimeout = 8;
    static constexpr uint32_t kEpochSlots = 16;

    RbdChannel(reactor::Reactor& reactor, const Bdev& bdev, std::shared_ptr<RbdImageState> state,
               std::chrono::milliseconds io_timeout);
    void deliver(IoRequest& request) noexcept;
    void tick();
    void set_stuck(bool stuck);

    reactor::Reactor& reactor_;
    const std::string bdev_name_;
    const RequestLimits limits_;
    std::shared_ptr<RbdImageState> state_;
    const std::chrono::milliseconds io_timeout_;
    std::unique_ptr<reactor::Mailbox> mailbox_;
    // librbd threads inside answered(): the channel waits for them before it goes.
    std::atomic<uint32_t> posting_{0};
    std::array<uint32_t, kEpochSlots> started_in_epoch_{};
    uint64_t epoch_ = kEpochSlots;  // never 0, so "older than" needs no underflow care
    uint64_t overdue_ = 0;          // requests moved out of their epoch slot, still held
    uint64_t overdue_since_ = 0;    // the epoch overdue_ became non-zero
    bool stuck_ = false;
    std::optional<reactor::Reactor::TimerId> tick_timer_;
};

}  // namespace vhostd::block

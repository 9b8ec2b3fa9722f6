// ScsiEventQueue: the virtio-scsi event queue (5.6.6.3). The driver posts empty buffers; the
// device keeps them and fills one whenever it has something to report (a target appeared or
// went away, a LUN's capacity changed). An event with no buffer to go into waits in a short
// queue until the driver posts one (it may not have taken its buffers yet when a target is
// hot-plugged); past that queue it is dropped and the next event delivered carries
// VIRTIO_SCSI_T_EVENTS_MISSED, after which a Linux driver rescans the bus.
//
// Kept buffers are not "in flight" for stop(): if the frontend stops the ring (GET_VRING_BASE),
// they are consumed without an answer; a driver reposts its event buffers on reset.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "devices/virtio_scsi/scsi_reactor_state.hpp"
#include "virtio/queue_handler.hpp"

namespace vhostd::virtio_scsi {

class ScsiEventQueue final : public virtio::QueueHandler {
  public:
    ScsiEventQueue(reactor::Reactor& reactor, virtio::RunningQueue queue,
                   std::shared_ptr<ScsiReactorState> state);
    ~ScsiEventQueue() override;

    // Writes `event` into the oldest kept buffer, or remembers that one was missed.
    void post(const Event& event);
    [[nodiscard]] size_t buffers() const { return count_; }

  private:
    struct Buffer {
        uint16_t head = 0;
        std::span<iovec> iov;  // device-writable, at least sizeof(Event) bytes
    };

    // One kept buffer per queue entry at most.
    [[nodiscard]] size_t free_requests() const noexcept override { return kept_.size() - count_; }
    void start_request(uint32_t head) noexcept override;
    bool after_batch() noexcept override;
    // Memory hot-plug: a kept buffer in a region that was removed can no longer be written.
    void memory_replaced(const guest_memory::GuestMemory& memory) noexcept override;
    void fill(const Event& event);
    void deliver_pending();

    // Bounded: hot-plug is driven by RPC calls, but a driver that never posts buffers must not
    // make the device hold an unbounded backlog.
    static constexpr size_t kMaxPendingEvents = 8;

    std::shared_ptr<ScsiReactorState> state_;
    std::vector<iovec> iov_arena_;
    // Ring of kept buffers, one slot (and kIovPerBuffer iovecs) per queue entry: the driver
    // cannot have more buffers available than that.
    std::vector<Buffer> kept_;
    size_t first_ = 0;  // oldest kept buffer
    size_t count_ = 0;
    std::array<Event, kMaxPendingEvents> pending_{};  // events waiting for a buffer, oldest first
    size_t pending_count_ = 0;
    bool missed_ = false;
};

}  // namespace vhostd::virtio_scsi

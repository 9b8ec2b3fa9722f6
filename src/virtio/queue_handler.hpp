// QueueHandler: a device's side of one started virtqueue: the queue engine (batches, drain,
// statistics, interrupt mode) fed by the virtqueue's ring. It watches the kick eventfd,
// publishes used entries once per poll, reports a broken ring, and on stop tells the
// transport where the ring stopped. Devices implement start_request() and complete requests
// through complete().
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include <sys/uio.h>

#include "queue/queue_engine.hpp"
#include "reactor/reactor.hpp"
#include "virtio/running_queue.hpp"

namespace vhostd::virtio {

struct QueueStopResult {
    uint32_t ring_base = 0;  // for VHOST_USER_GET_VRING_BASE
    bool broken = false;
};

class QueueHandler : public queue::QueueEngine {
  public:
    using StoppedCallback = std::move_only_function<void(QueueStopResult)>;

    QueueHandler(reactor::Reactor& reactor, RunningQueue queue);
    ~QueueHandler() override;  // on the reactor thread, after stop() has called back

    // Registers the poller and the kick watch with the reactor.
    Result<void> start();
    // Takes no new requests; once every in-flight request has completed and the used ring is
    // published, unregisters from the reactor and calls `done` (on the reactor thread).
    void stop(StoppedCallback done);
    void set_call_fd(UniqueFd call) { queue_.set_call_fd(std::move(call)); }
    void set_stats(queue::QueueStats& stats) {
        QueueEngine::set_stats(stats);
        queue_.set_stats(stats);
    }

    [[nodiscard]] RunningQueue& queue() { return queue_; }

    // Memory hot-plug: requests are translated in `memory` from now on, the queue running on.
    // `done` runs once the queue no longer needs the table it used before: at once when
    // `drain_old` is false (an added region invalidates nothing), else once every request
    // taken before the change has completed (a removed region may be under them).
    void update_memory(guest_memory::GuestMemory::Ptr memory, bool drain_old,
                       std::move_only_function<void()> done);

  protected:
    // Pushes the used element; the ring is published (and the driver interrupted) at the end
    // of this poll or the next one. `device_written`: the device-writable buffers the request
    // wrote (or may have written) into, marked in the dirty log first while logging for
    // migration; empty if it wrote nothing.
    void complete(uint16_t head, uint32_t written, std::span<const iovec> device_written);
    // Breaks the ring (device NEEDS_RESET); in-flight requests still complete.
    void fail_queue(const char* reason);
    // After update_memory() swapped the table: a device that keeps guest buffers outside its
    // requests in flight (virtio-scsi's event buffers) checks them against `memory`.
    virtual void memory_replaced(const guest_memory::GuestMemory& /*memory*/) noexcept {}

  private:
    void publish() noexcept final;
    void publish_owed() noexcept final;
    [[nodiscard]] bool accepting() const noexcept final { return !queue_.broken(); }
    size_t take(std::span<uint32_t> slots) noexcept final;
    bool arm_notifications() noexcept final;
    void disarm_notifications() noexcept final;

    void release_old_memory_if_unused();

    RunningQueue queue_;
    std::optional<reactor::Reactor::FdId> kick_watch_;
    // Memory hot-plug: the table generation each ring slot was taken under, how many slots are
    // taken and not completed, and how many of those predate the last removal.
    std::vector<uint32_t> taken_generation_;
    uint32_t generation_ = 0;
    uint32_t outstanding_ = 0;
    uint32_t old_outstanding_ = 0;
    std::move_only_function<void()> old_memory_released_;
};

}  // namespace vhostd::virtio

// QueueHandler: a device's side of one started virtqueue, run as a poller by one reactor.
// The base class owns the queue mechanics every device shares (kick watching, interrupt mode,
// batched used-ring flushes, in-flight accounting, orderly stop); devices implement
// process_requests() and complete requests through complete().
#pragma once

#include <cstdint>
#include <functional>

#include "reactor/poller.hpp"
#include "reactor/reactor.hpp"
#include "virtio/queue_stats.hpp"
#include "virtio/virtqueue.hpp"

namespace vhostd::virtio {

struct QueueStopResult {
    uint16_t last_avail_idx = 0;  // for VHOST_USER_GET_VRING_BASE
    bool broken = false;
};

class QueueHandler : public reactor::Poller {
  public:
    using StoppedCallback = std::move_only_function<void(QueueStopResult)>;

    QueueHandler(reactor::Reactor& reactor, Virtqueue queue);
    ~QueueHandler() override;  // on the reactor thread, after stop() has called back
    QueueHandler(const QueueHandler&) = delete;
    QueueHandler& operator=(const QueueHandler&) = delete;

    // Registers the poller and the kick watch with the reactor.
    Result<void> start();
    // Takes no new requests; once every in-flight request has completed and the used ring is
    // published, unregisters from the reactor and calls `done` (on the reactor thread).
    void stop(StoppedCallback done);
    void set_call_fd(UniqueFd call) { queue_.set_call_fd(std::move(call)); }
    // Counts into `stats` from now on (the controller's per-queue counters; they outlive
    // this handler). Before start().
    void set_stats(QueueStats& stats) {
        stats_ = &stats;
        queue_.set_stats(stats);
    }
    [[nodiscard]] const QueueStats& stats() const { return *stats_; }

    [[nodiscard]] Virtqueue& queue() { return queue_; }
    [[nodiscard]] uint32_t inflight() const { return inflight_; }

    reactor::PollResult poll() noexcept final;
    bool enter_interrupt_mode() noexcept final;
    void leave_interrupt_mode() noexcept final;

  protected:
    // Takes up to a batch of available requests and starts them. Called only while running.
    virtual reactor::PollResult process_requests() noexcept = 0;

    // Device bookkeeping: a request taken from the ring and not yet completed.
    void request_started() {
        ++inflight_;
        QueueStats::add(stats_->requests);
        QueueStats::set(stats_->inflight, inflight_);
    }
    // Pushes the used element; the ring is flushed (and the driver interrupted) at the end of
    // this poll or the next one.
    void complete(uint16_t head, uint32_t written);
    // Breaks the ring (device NEEDS_RESET); in-flight requests still complete.
    void fail_queue(const char* reason);

    [[nodiscard]] reactor::Reactor& reactor() { return reactor_; }

  private:
    void finish_stop_if_drained();

    reactor::Reactor& reactor_;
    Virtqueue queue_;
    uint32_t inflight_ = 0;
    QueueStats own_stats_;  // until set_stats()
    QueueStats* stats_ = &own_stats_;
    bool started_ = false;
    bool stopping_ = false;
    StoppedCallback on_stopped_;
    std::optional<reactor::Reactor::FdId> kick_watch_;
};

}  // namespace vhostd::virtio

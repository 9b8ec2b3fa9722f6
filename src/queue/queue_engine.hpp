// QueueEngine: the mechanics every polled queue shares, whatever transport feeds it (a virtio
// ring today, an NVMe submission queue next): one batch-take loop bounded by the free request
// contexts (the transport prefetches what it takes), in-flight accounting and statistics,
// completions published once per poll, interrupt mode for adaptive polling, and an orderly
// stop that drains every request in flight before it reports back.
//
// The transport implements how requests are taken and completions published; the device
// implements what a request does. Everything runs on the owning reactor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "queue/queue_stats.hpp"
#include "reactor/poller.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::queue {

class QueueEngine : public reactor::Poller {
  public:
    // Most requests taken in one poll: bounds the work of one reactor iteration.
    static constexpr size_t kMaxBatch = 32;
    using Stopped = std::move_only_function<void()>;

    explicit QueueEngine(reactor::Reactor& reactor);
    ~QueueEngine() override;  // on the reactor thread, after stop() has called back
    QueueEngine(const QueueEngine&) = delete;
    QueueEngine& operator=(const QueueEngine&) = delete;

    // Counts into `stats` from now on (the controller's per-queue counters; they outlive this
    // engine). Before start().
    void set_stats(QueueStats& stats) { stats_ = &stats; }
    [[nodiscard]] const QueueStats& stats() const { return *stats_; }
    [[nodiscard]] uint32_t inflight() const { return inflight_; }
    [[nodiscard]] bool stopping() const { return stopping_; }

    // Registers the poller.
    void start_polling();
    // Takes no new requests; once every request in flight has completed and the completions
    // are published, unregisters from the reactor and calls `done`.
    void stop(Stopped done);

    reactor::PollResult poll() noexcept final;
    bool enter_interrupt_mode() noexcept final;
    void leave_interrupt_mode() noexcept final;

  protected:
    // --- the transport ---
    // Publishes completions pushed since the last call (and interrupts the driver if it asked).
    virtual void publish() noexcept = 0;
    // False once the queue can take nothing more (a broken ring).
    [[nodiscard]] virtual bool accepting() const noexcept = 0;
    // Takes up to slots.size() new requests, prefetching what they point to; returns how many.
    virtual size_t take(std::span<uint32_t> slots) noexcept = 0;
    // Interrupt mode: ask the driver to notify; false if work arrived meanwhile.
    virtual bool arm_notifications() noexcept = 0;
    virtual void disarm_notifications() noexcept = 0;
    // Sends what publish() may hold back (a coalesced interrupt): before the reactor sleeps
    // and when the queue stops, since no poll would send it then.
    virtual void publish_owed() noexcept {}

    // --- the device ---
    // Request contexts free to take more requests with.
    [[nodiscard]] virtual size_t free_requests() const noexcept = 0;
    // Starts the request in `slot` (a descriptor head, an SQ entry index).
    virtual void start_request(uint32_t slot) noexcept = 0;
    // After each batch (e.g. event buffers meet queued events); true if it did something.
    virtual bool after_batch() noexcept { return false; }

    // Bookkeeping, called by the device: a request taken and not yet completed, and its end.
    void request_started() noexcept;
    void request_finished() noexcept;

    [[nodiscard]] reactor::Reactor& reactor() { return reactor_; }
    [[nodiscard]] QueueStats& counters() { return *stats_; }

  private:
    void finish_stop_if_drained() noexcept;

    reactor::Reactor& reactor_;
    uint32_t inflight_ = 0;
    QueueStats own_stats_;  // until set_stats()
    QueueStats* stats_ = &own_stats_;
    bool polling_ = false;
    bool stopping_ = false;
    Stopped on_stopped_;
};

}  // namespace vhostd::queue

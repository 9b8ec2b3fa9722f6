// CallCoalescer: interrupt coalescing for one virtqueue (SPDK's vhost_controller_set_coalescing).
// The queue's completion rate is measured over 10 ms windows; while it exceeds iops_threshold,
// the call eventfd is signalled at most once every delay_base_us and a signal that falls
// inside the delay is owed, not dropped: it is sent when the delay ends (the queue checks on
// every poll) or at once before the reactor sleeps or the queue stops. Below the threshold
// every notification is sent at once. Owner reactor only.
#pragma once

#include <cstdint>

namespace vhostd::virtio {

class CallCoalescer {
  public:
    static constexpr uint64_t kWindowNs = 10'000'000;  // rate measurement window

    // delay_base_us == 0 turns coalescing off (every notification is sent).
    void configure(uint32_t delay_base_us, uint32_t iops_threshold) noexcept;
    [[nodiscard]] bool enabled() const noexcept { return delay_ns_ != 0; }
    [[nodiscard]] bool pending() const noexcept { return pending_; }

    // The driver wants an interrupt; `completions` is the queue's running completion count.
    // True: signal now. False: the signal is owed (pending()) until due().
    [[nodiscard]] bool notify(uint64_t now_ns, uint64_t completions) noexcept;
    // Whether the owed signal's delay has passed (the next one is then a delay away); the
    // caller sends it and clear()s the debt.
    [[nodiscard]] bool due(uint64_t now_ns) noexcept;
    // The owed signal was sent (when due, or early: before a sleep or a stop).
    void clear() noexcept { pending_ = false; }

  private:
    void measure(uint64_t now_ns, uint64_t completions) noexcept;

    uint64_t delay_ns_ = 0;
    uint64_t threshold_ = 0;  // completions per second
    uint64_t window_start_ns_ = 0;
    uint64_t window_completions_ = 0;  // the running count at window start
    bool over_threshold_ = false;
    bool pending_ = false;
    uint64_t next_signal_ns_ = 0;
};

}  // namespace vhostd::virtio

// TokenBucket: one QoS limit (I/Os or bytes per second) spent in 1 ms timeslices. Every
// channel of the bdev takes tokens from the same atomic budget, so the limit holds however
// the load is spread over queues and reactors; no lock, and the shared cache line is touched
// only by requests of a rate-limited bdev, at most `limit` times a second. A byte budget may
// go negative by one request (as SPDK allows); the debt is paid from the next slice.
#pragma once

#include <atomic>
#include <cstdint>

namespace vhostd::block::qos {

class TokenBucket {
  public:
    // Any thread: 0 turns the limit off.
    void set_per_second(uint64_t per_second) noexcept;
    [[nodiscard]] bool enabled() const noexcept {
        return per_slice_.load(std::memory_order_relaxed) != 0;
    }

    // The budget of a new timeslice, `elapsed` slices after the last refill (called by
    // whichever channel saw the new slice first). A debt is paid by every elapsed slice.
    void refill(uint64_t elapsed = 1) noexcept;
    // Whether `amount` may start now; if so, it is taken from this slice's budget. I/O
    // budgets are all-or-nothing; byte budgets need only a positive balance.
    [[nodiscard]] bool has_tokens() const noexcept {
        return remaining_.load(std::memory_order_relaxed) > 0;
    }
    void take(uint64_t amount) noexcept {
        remaining_.fetch_sub(static_cast<int64_t>(amount), std::memory_order_relaxed);
    }

  private:
    std::atomic<int64_t> per_slice_{0};
    std::atomic<int64_t> remaining_{0};
};

}  // namespace vhostd::block::qos

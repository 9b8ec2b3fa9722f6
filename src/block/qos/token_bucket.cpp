// TokenBucket: per-slice budgets.
#include "block/qos/token_bucket.hpp"

#include <algorithm>

#include "block/qos/qos_limits.hpp"

namespace vhostd::block::qos {

void TokenBucket::set_per_second(uint64_t per_second) noexcept {
    // validate() keeps I/O limits at >= 1 per slice; a byte limit is >= 1048 per slice.
    const uint64_t slice =
        per_second == 0 ? 0 : std::max<uint64_t>(per_second / kTimeslicesPerSec, 1);
    per_slice_.store(static_cast<int64_t>(slice), std::memory_order_relaxed);
    remaining_.store(static_cast<int64_t>(slice), std::memory_order_relaxed);
}

void TokenBucket::refill(uint64_t elapsed) noexcept {
    const int64_t slice = per_slice_.load(std::memory_order_relaxed);
    int64_t current = remaining_.load(std::memory_order_relaxed);
    // Unused tokens do not carry over (no bursts after idle time); a debt does.
    int64_t next = 0;
    do {
        const auto paid = static_cast<int64_t>(std::min<uint64_t>(elapsed, INT32_MAX)) * slice;
        next = current < 0 ? std::min(current + paid, slice) : slice;
    } while (!remaining_.compare_exchange_weak(current, next, std::memory_order_relaxed));
}

}  // namespace vhostd::block::qos

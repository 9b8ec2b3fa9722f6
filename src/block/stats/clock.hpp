// The clock of the block statistics: CLOCK_MONOTONIC in nanoseconds. Latencies are reported
// in these "ticks", so the tick rate is 1e9 (SPDK reports TSC ticks with the TSC's rate; a
// client that divides by tick_rate gets seconds either way).
#pragma once

#include <cstdint>
#include <ctime>

namespace vhostd::block::stats {

inline constexpr uint64_t kTickRate = 1'000'000'000;

inline uint64_t now_ticks() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * kTickRate + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace vhostd::block::stats

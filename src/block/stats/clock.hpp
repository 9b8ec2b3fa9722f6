// The clock of the block statistics: nanoseconds from base/tsc_clock.hpp (the TSC where the
// kernel trusts it: read twice per request, it must be cheap). Latencies are reported in these
// "ticks", so the tick rate is 1e9 (SPDK reports TSC ticks with the TSC's rate; a client that
// divides by tick_rate gets seconds either way).
#pragma once

#include <cstdint>

#include "base/tsc_clock.hpp"

namespace vhostd::block::stats {

inline constexpr uint64_t kTickRate = 1'000'000'000;

inline uint64_t now_ticks() noexcept {
    return tsc::now_ns();
}

}  // namespace vhostd::block::stats

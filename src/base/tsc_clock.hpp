// A cheap monotonic nanosecond clock for the I/O path: the CPU's time-stamp counter scaled by
// a multiplier calibrated once per process, where the kernel itself trusts the TSC (its
// clocksource is "tsc": constant rate, synchronised across cores); CLOCK_MONOTONIC elsewhere.
// A read is a counter read and a multiply, against clock_gettime's vDSO call: the request
// statistics read it twice per request and the reactors once per loop iteration.
// Its values are comparable only with each other, never with std::chrono clocks.
#pragma once

#include <cstdint>
#include <ctime>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace vhostd::tsc {

struct Calibration {
    bool usable = false;  // false: now_ns() reads CLOCK_MONOTONIC
    uint64_t hz = 0;      // TSC ticks per second, measured
    uint64_t mult = 0;    // ns = ticks * mult >> kShift
};
inline constexpr unsigned kShift = 32;

// Calibrates on first use (about 5 ms, thread-safe); afterwards a plain read.
const Calibration& calibration();

inline uint64_t monotonic_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000U + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t now_ns() noexcept {
#if defined(__x86_64__)
    static const Calibration& c = calibration();
    if (c.usable) [[likely]] {
        return static_cast<uint64_t>((static_cast<unsigned __int128>(__rdtsc()) * c.mult) >>
                                     kShift);
    }
#endif
    return monotonic_ns();
}

}  // namespace vhostd::tsc

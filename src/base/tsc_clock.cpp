// TSC calibration: the kernel's verdict on the TSC, then its rate against CLOCK_MONOTONIC_RAW.
#include "base/tsc_clock.hpp"

#include <fstream>
#include <string>
#include <thread>

namespace vhostd::tsc {
namespace {

bool kernel_uses_tsc() {
    std::ifstream in("/sys/devices/system/clocksource/clocksource0/current_clocksource");
    std::string source;
    return static_cast<bool>(in >> source) && source == "tsc";
}

uint64_t raw_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000U + static_cast<uint64_t>(ts.tv_nsec);
}

Calibration calibrate() {
    Calibration c;
#if defined(__x86_64__)
    if (!kernel_uses_tsc()) {
        return c;
    }
    const uint64_t t0 = raw_ns();
    const uint64_t c0 = __rdtsc();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const uint64_t t1 = raw_ns();
    const uint64_t c1 = __rdtsc();
    if (t1 <= t0 || c1 <= c0) {
        return c;
    }
    c.hz = static_cast<uint64_t>(static_cast<double>(c1 - c0) * 1e9 / static_cast<double>(t1 - t0));
    if (c.hz < 1'000'000) {
        return c;  // not a plausible rate
    }
    c.mult =
        static_cast<uint64_t>((static_cast<unsigned __int128>(1'000'000'000U) << kShift) / c.hz);
    c.usable = true;
#endif
    return c;
}

}  // namespace

const Calibration& calibration() {
    static const Calibration c = calibrate();
    return c;
}

}  // namespace vhostd::tsc

// What waking a sleeping reactor costs on this machine: measured once per adaptive reactor,
// on its own (pinned) thread, by another thread signalling an eventfd the reactor sleeps on,
// as a driver's kick would. The latency is what a request that ends a sleep waits for the
// reactor; the CPU is what one sleep and wake-up take from the reactor's core. Both vary a lot
// between machines (bare metal: a few µs; a busy VM: tens), which is why the idle policy
// measures instead of assuming.
#pragma once

#include <chrono>

namespace vhostd::reactor {

struct WakeCost {
    std::chrono::nanoseconds latency{20'000};  // median over the samples
    std::chrono::nanoseconds cpu{10'000};      // mean per sleep and wake-up
};

// Takes about samples x 300 µs. The signalling thread runs on another core than `core` (the
// reactor's), as a driver does; -1: anywhere. Returns the defaults above if it cannot measure.
WakeCost measure_wake_cost(int core, int samples = 16);

}  // namespace vhostd::reactor

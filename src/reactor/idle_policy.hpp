// IdlePolicy: how long an adaptive reactor keeps polling an idle stretch before it sleeps.
// Polling an idle stretch costs CPU for as long as it lasts; sleeping costs a wake-up: the
// time the next request waits for the reactor to run again (added latency) and the CPU the
// sleep and wake-up themselves take. Which is cheaper depends on how long idle stretches last
// under the current load and on what a wake-up costs on this machine, so the policy learns
// both: it keeps a decaying histogram of idle-gap lengths and picks the polling budget that
// minimises the expected cost of the next gap (spin-then-sleep, the ski-rental rule with the
// gap distribution known). Long gaps (low load): sleep at once, so the core is free between
// requests. Short gaps (high load): poll through them, since a wake-up per request would cost
// more than it saves. Mixed (bursts): poll just long enough to catch the next request of a
// burst. Never longer than the configured maximum (--idle-threshold-us).
//
// Pure and single-threaded: the reactor passes in every time it measured.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace vhostd::reactor {

class IdlePolicy {
  public:
    using Nanos = std::chrono::nanoseconds;

    struct Options {
        Nanos max_spin{300'000};  // never poll an idle stretch longer than this
        // Latency a wake-up adds to the request that ends the sleep, and the CPU the sleep
        // and the wake-up take (measured by the reactor; see measure_wake_latency()).
        Nanos wake_latency{20'000};
        Nanos wake_cpu{10'000};
    };

    explicit IdlePolicy(Options options);

    // An idle stretch of `gap` ended because polling found work.
    void record_gap(Nanos gap);
    // An idle stretch ended with work found after sleeping; `gap` runs from the start of the
    // stretch to the wake-up (the gap itself plus the wake-up latency).
    void record_gap_after_sleep(Nanos gap);

    // How long to poll the current idle stretch before sleeping.
    [[nodiscard]] Nanos spin_budget() const { return budget_; }
    [[nodiscard]] const Options& options() const { return options_; }

    // Histogram buckets: gaps in [2^(i+kFirstShift), 2^(i+1+kFirstShift)) ns; the first
    // bucket also holds shorter gaps, the last longer ones.
    static constexpr int kFirstShift = 8;   // 256 ns
    static constexpr size_t kBuckets = 18;  // up to ~33 ms and beyond
    // Gaps recorded between two recomputations of the budget; the histogram halves each time
    // so that it follows a changing load within a few thousand requests.
    static constexpr uint32_t kRecomputeEvery = 64;

  private:
    void record(Nanos gap);
    void recompute();
    [[nodiscard]] double expected_cost(double spin_ns) const;

    Options options_;
    std::array<double, kBuckets> counts_{};
    uint32_t since_recompute_ = 0;
    Nanos budget_;
};

}  // namespace vhostd::reactor

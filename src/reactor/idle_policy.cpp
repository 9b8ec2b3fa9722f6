// IdlePolicy: the gap histogram and the choice of a polling budget (see idle_policy.hpp).
#include "reactor/idle_policy.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace vhostd::reactor {
namespace {

size_t bucket_of(uint64_t gap_ns) {
    if (gap_ns < (uint64_t{1} << IdlePolicy::kFirstShift)) {
        return 0;
    }
    const auto log2 = static_cast<size_t>(std::bit_width(gap_ns) - 1);
    return std::min(log2 - IdlePolicy::kFirstShift, IdlePolicy::kBuckets - 1);
}

// The length that stands for a bucket's gaps: the geometric middle of its bounds.
double representative_ns(size_t bucket) {
    return std::ldexp(std::sqrt(2.0), static_cast<int>(bucket) + IdlePolicy::kFirstShift);
}

}  // namespace

IdlePolicy::IdlePolicy(Options options) : options_(options), budget_(options.max_spin) {}

void IdlePolicy::record_gap(Nanos gap) {
    record(gap);
}

void IdlePolicy::record_gap_after_sleep(Nanos gap) {
    // Work that woke us arrived one wake-up earlier than we saw it.
    record(std::max(gap - options_.wake_latency, Nanos{0}));
}

void IdlePolicy::record(Nanos gap) {
    counts_[bucket_of(static_cast<uint64_t>(std::max<int64_t>(gap.count(), 0)))] += 1.0;
    if (++since_recompute_ >= kRecomputeEvery) {
        recompute();
    }
}

double IdlePolicy::expected_cost(double spin_ns) const {
    // A gap shorter than the spin costs its length in polling; a longer one costs the whole
    // spin, then a sleep and wake-up (CPU) and the wake-up's latency for the next request.
    const double sleep_cost = spin_ns + static_cast<double>(options_.wake_cpu.count()) +
                              static_cast<double>(options_.wake_latency.count());
    double cost = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
        const double gap = representative_ns(b);
        cost += counts_[b] * (gap <= spin_ns ? gap : sleep_cost);
    }
    return cost;
}

void IdlePolicy::recompute() {
    since_recompute_ = 0;
    const auto max_spin = static_cast<double>(options_.max_spin.count());
    // Candidates: sleep at once, or poll up to the end of a bucket (or the maximum).
    double best_spin = 0;
    double best_cost = expected_cost(0);
    for (size_t b = 0; b < kBuckets; ++b) {
        const double spin =
            std::min(std::ldexp(1.0, static_cast<int>(b) + kFirstShift + 1), max_spin);
        const double cost = expected_cost(spin);
        if (cost < best_cost) {
            best_cost = cost;
            best_spin = spin;
        }
        if (spin >= max_spin) {
            break;
        }
    }
    budget_ = Nanos{static_cast<int64_t>(best_spin)};
    for (double& count : counts_) {
        count *= 0.5;
    }
}

}  // namespace vhostd::reactor

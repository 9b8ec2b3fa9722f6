// LatencyHistogram: bucket arithmetic and snapshots.
#include "block/stats/latency_histogram.hpp"

#include <bit>
#include <cmath>

namespace vhostd::block::stats {

size_t LatencyHistogram::index_of(uint64_t value) noexcept {
    if (value < kSubBuckets) {
        return static_cast<size_t>(value);
    }
    const unsigned msb = static_cast<unsigned>(std::bit_width(value)) - 1;
    if (msb >= kMaxBits) {
        return kBuckets - 1;
    }
    // Major bucket m (m >= 1) covers [2^(m+3), 2^(m+4)); its 16 sub-buckets are the four bits
    // below the leading one.
    const unsigned major = msb - kSubBits + 1;
    const uint64_t sub = (value >> (msb - kSubBits)) & (kSubBuckets - 1);
    return static_cast<size_t>(major * kSubBuckets + sub);
}

uint64_t LatencyHistogram::lower_bound(size_t index) noexcept {
    if (index < kSubBuckets) {
        return index;
    }
    const uint64_t major = index / kSubBuckets;
    const uint64_t sub = index % kSubBuckets;
    return (kSubBuckets + sub) << (major - 1);
}

uint64_t LatencyHistogram::upper_bound(size_t index) noexcept {
    if (index + 1 >= kBuckets) {
        return UINT64_MAX;
    }
    return lower_bound(index + 1) - 1;
}

void HistogramSnapshot::add(const LatencyHistogram& histogram) noexcept {
    for (size_t i = 0; i < counts.size(); ++i) {
        counts[i] += histogram.count(i);
    }
}

void HistogramSnapshot::add(const HistogramSnapshot& other) noexcept {
    for (size_t i = 0; i < counts.size(); ++i) {
        counts[i] += other.counts[i];
    }
}

uint64_t HistogramSnapshot::total() const noexcept {
    uint64_t sum = 0;
    for (uint64_t c : counts) {
        sum += c;
    }
    return sum;
}

uint64_t HistogramSnapshot::count_at_most(uint64_t value) const noexcept {
    uint64_t sum = 0;
    for (size_t i = 0; i < counts.size() && LatencyHistogram::upper_bound(i) <= value; ++i) {
        sum += counts[i];
    }
    return sum;
}

uint64_t HistogramSnapshot::percentile(double fraction) const noexcept {
    const uint64_t all = total();
    if (all == 0) {
        return 0;
    }
    const auto wanted = static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(all)));
    uint64_t sum = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
        sum += counts[i];
        if (sum >= wanted && sum > 0) {
            return LatencyHistogram::upper_bound(i);
        }
    }
    return LatencyHistogram::upper_bound(counts.size() - 1);
}

}  // namespace vhostd::block::stats

// LatencyHistogram: bucket arithmetic and percentiles.
#include "histogram.hpp"

#include <algorithm>
#include <cmath>

namespace vhostd::bench {

namespace {
constexpr uint64_t kSub = uint64_t{1} << LatencyHistogram::kSubBits;
}

uint64_t LatencyHistogram::lower_bound(size_t i) noexcept {
    if (i < kLinear) {
        return i;
    }
    const uint64_t shift = (i - kLinear) / kSub + 1;
    const uint64_t top = (i - kLinear) % kSub + kSub;
    return top << shift;
}

uint64_t LatencyHistogram::width(size_t i) noexcept {
    return i < kLinear ? 1 : uint64_t{1} << ((i - kLinear) / kSub + 1);
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
    for (size_t i = 0; i < kBuckets; ++i) {
        buckets_[i] += other.buckets_[i];
    }
    count_ += other.count_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
    min_ = std::min(min_, other.min_);
}

uint64_t LatencyHistogram::percentile(double fraction) const {
    if (count_ == 0) {
        return 0;
    }
    // Rank of the sample we want, 1-based: the smallest rank with rank/count >= fraction.
    const auto rank = std::max<uint64_t>(
        1, static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(count_))));
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
        seen += buckets_[i];
        if (seen >= rank) {
            return std::clamp(lower_bound(i) + width(i) / 2, min(), max_);
        }
    }
    return max_;
}

}  // namespace vhostd::bench

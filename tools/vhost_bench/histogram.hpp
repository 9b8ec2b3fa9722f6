// LatencyHistogram: log-linear buckets (64 per power of two above 128 ns, exact below), so a
// percentile is off by at most 1/64 of its value while recording costs a few instructions
// and no memory per sample. Not thread-safe: one per polling thread, merged at the end.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace vhostd::bench {

class LatencyHistogram {
  public:
    static constexpr unsigned kSubBits = 6;                       // 64 buckets per octave
    static constexpr uint64_t kLinear = uint64_t{2} << kSubBits;  // 128 exact buckets
    static constexpr size_t kBuckets = kLinear + (63 - kSubBits) * (uint64_t{1} << kSubBits);

    // Records `count` samples of `ns` nanoseconds (a polled batch shares one timestamp).
    void record(uint64_t ns, uint64_t count = 1) noexcept {
        buckets_[index(ns)] += count;
        count_ += count;
        sum_ += ns * count;
        if (ns > max_) {
            max_ = ns;
        }
        if (ns < min_) {
            min_ = ns;
        }
    }
    void merge(const LatencyHistogram& other) noexcept;

    [[nodiscard]] uint64_t count() const { return count_; }
    [[nodiscard]] uint64_t max() const { return max_; }
    [[nodiscard]] uint64_t min() const { return count_ == 0 ? 0 : min_; }
    [[nodiscard]] double mean() const {
        return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
    }
    // The value below which `fraction` (0..1) of the samples lie (bucket midpoint, capped at
    // max). 0 when empty.
    [[nodiscard]] uint64_t percentile(double fraction) const;

    static size_t index(uint64_t ns) noexcept {
        if (ns < kLinear) {
            return ns;
        }
        const unsigned msb = 63U - static_cast<unsigned>(__builtin_clzll(ns));
        const unsigned shift = msb - kSubBits;
        const uint64_t top = ns >> shift;  // in [64, 128)
        return kLinear + (shift - 1) * (uint64_t{1} << kSubBits) +
               (top - (uint64_t{1} << kSubBits));
    }
    // Smallest value that falls in bucket `i`, and the bucket's width.
    static uint64_t lower_bound(size_t i) noexcept;
    static uint64_t width(size_t i) noexcept;

  private:
    std::array<uint64_t, kBuckets> buckets_{};
    uint64_t count_ = 0;
    uint64_t sum_ = 0;
    uint64_t max_ = 0;
    uint64_t min_ = UINT64_MAX;
};

}  // namespace vhostd::bench

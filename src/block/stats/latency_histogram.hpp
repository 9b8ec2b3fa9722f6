// LatencyHistogram: log-linear latency buckets (the HdrHistogram layout): values below 16 get a
// bucket each; above that, every power of two is split into 16 equal sub-buckets, so a bucket
// is at most 1/16 (6.25%) of its value wide. Written by one thread, readable from any.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace vhostd::block::stats {

class LatencyHistogram {
  public:
    static constexpr unsigned kSubBits = 4;
    static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBits;
    // Values up to 2^36 - 1 (68 s in ns) are resolved; larger ones land in the last bucket.
    static constexpr unsigned kMaxBits = 36;
    static constexpr size_t kBuckets = (kMaxBits - kSubBits + 1) * kSubBuckets;

    // The bucket holding `value`.
    static size_t index_of(uint64_t value) noexcept;
    // The smallest and largest value of bucket `index`.
    static uint64_t lower_bound(size_t index) noexcept;
    static uint64_t upper_bound(size_t index) noexcept;

    // Owner thread only: single writer, so a relaxed load + store is enough (no locked RMW).
    void record(uint64_t value) noexcept {
        std::atomic<uint64_t>& slot = counts_[index_of(value)];
        slot.store(slot.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    [[nodiscard]] uint64_t count(size_t index) const noexcept {
        return counts_[index].load(std::memory_order_relaxed);
    }

  private:
    std::array<std::atomic<uint64_t>, kBuckets> counts_{};
};

// A plain copy of one or more histograms, summed bucket by bucket (for readers).
struct HistogramSnapshot {
    std::array<uint64_t, LatencyHistogram::kBuckets> counts{};

    void add(const LatencyHistogram& histogram) noexcept;
    void add(const HistogramSnapshot& other) noexcept;
    [[nodiscard]] uint64_t total() const noexcept;
    // How many recorded values are <= `value` (exact when value + 1 starts a bucket, e.g. a
    // power of two minus one; otherwise counts whole buckets whose upper bound is <= value).
    [[nodiscard]] uint64_t count_at_most(uint64_t value) const noexcept;
    // The value below which `fraction` (0..1) of the recorded values lie: a bucket's upper
    // bound, so at most 6.25% above the true percentile. 0 when empty.
    [[nodiscard]] uint64_t percentile(double fraction) const noexcept;
};

}  // namespace vhostd::block::stats

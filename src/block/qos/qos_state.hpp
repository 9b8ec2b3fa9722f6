// QosState: a bdev's QoS limits as token buckets shared by all its channels. Limits change at
// runtime from the control thread; channels ask admit() per request and keep the requests it
// refuses queued until a later timeslice (block/bdev_channel.hpp).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

#include "block/io_request.hpp"
#include "block/qos/qos_limits.hpp"
#include "block/qos/token_bucket.hpp"

namespace vhostd::block::qos {

class QosState {
  public:
    // Control thread (any thread): replaces every limit; 0 lifts one.
    void set_limits(const QosLimits& limits);
    [[nodiscard]] QosLimits limits() const;
    [[nodiscard]] bool enabled() const noexcept { return enabled_.load(std::memory_order_relaxed); }

    // I/O path. Whether `request` may start at `now` (ticks, ns); takes its tokens if so.
    // Flush and other data-less requests are never limited.
    [[nodiscard]] bool admit(const IoRequest& request, uint64_t now) noexcept;

  private:
    enum Bucket : size_t { rw_ios, rw_bytes, r_bytes, w_bytes, kCount };
    void refill_if_new_slice(uint64_t now) noexcept;

    std::array<TokenBucket, kCount> buckets_;
    std::atomic<bool> enabled_{false};
    std::atomic<uint64_t> slice_{0};  // index of the current 1 ms timeslice
    mutable std::mutex mutex_;        // control side only: guards limits_
    QosLimits limits_;
};

}  // namespace vhostd::block::qos

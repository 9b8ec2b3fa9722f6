// IoStats: plain sums of channel counters (what readers get), and BdevStats, the per-bdev
// registry of its channels' counter blocks. Channels register when they open and fold their
// counts into the bdev's totals when they close, so the numbers survive queue restarts.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "block/stats/channel_stats.hpp"

namespace vhostd::block::stats {

struct OpTotals {
    uint64_t ops = 0;
    uint64_t bytes = 0;
    uint64_t latency_sum = 0;  // ticks
    uint64_t latency_min = 0;  // ticks; 0 when no operation completed
    uint64_t latency_max = 0;  // ticks
};

struct IoStats {
    std::array<OpTotals, kIoTypes> ops{};
    std::array<uint64_t, kIoStatuses> errors{};  // by IoStatus
    uint64_t queue_depth = 0;                    // requests in flight now
    uint64_t io_time = 0;                        // ticks with at least one request in flight
    uint64_t weighted_io_time = 0;               // ticks * requests in flight
    uint64_t qos_queued = 0;                     // requests that waited for QoS tokens
    uint64_t channels = 0;                       // open channels (queues using the bdev)
    HistogramSnapshot histogram;                 // latencies of every successful operation

    [[nodiscard]] const OpTotals& op(IoType type) const { return ops[static_cast<size_t>(type)]; }
    // Adds `channel`'s counters (relaxed reads: a snapshot, not a transaction).
    void add(const ChannelStats& channel);
    void add(const IoStats& other);
};

class BdevStats {
  public:
    // Channel open/close (on the channel's reactor; never per request).
    std::shared_ptr<ChannelStats> open_channel();
    void close_channel(const std::shared_ptr<ChannelStats>& channel);

    // Any thread.
    [[nodiscard]] IoStats snapshot() const;
    [[nodiscard]] size_t open_channels() const;

  private:
    mutable std::mutex mutex_;  // guards the lists, never taken per request
    std::vector<std::shared_ptr<ChannelStats>> live_;
    IoStats retired_;  // counts of closed channels
};

}  // namespace vhostd::block::stats

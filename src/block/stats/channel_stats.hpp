// ChannelStats: the I/O counters of one bdev channel, i.e. of one queue on one reactor. Only
// that reactor writes them (relaxed load + store: no locked instruction, no lock), on a
// block of cache lines of its own; readers on other threads sum the blocks with relaxed loads.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "block/io_request.hpp"
#include "block/stats/latency_histogram.hpp"

namespace vhostd::block::stats {

inline constexpr size_t kIoTypes = 5;  // IoType::read .. IoType::write_zeroes
inline constexpr size_t kIoStatuses = 5;

// Single-writer counter helpers.
inline void bump(std::atomic<uint64_t>& counter, uint64_t by = 1) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}
inline uint64_t read(const std::atomic<uint64_t>& counter) noexcept {
    return counter.load(std::memory_order_relaxed);
}

struct OpCounters {
    std::atomic<uint64_t> ops{0};
    std::atomic<uint64_t> bytes{0};
    std::atomic<uint64_t> latency_sum{0};  // ticks
    std::atomic<uint64_t> latency_min{UINT64_MAX};
    std::atomic<uint64_t> latency_max{0};
};

class alignas(64) ChannelStats {
  public:
    // A request entered the channel (before QoS): it now counts as in flight.
    void on_submit(uint64_t now) noexcept;
    // A request left the channel with `status` after `latency` ticks.
    void on_complete(const IoRequest& request, uint64_t now, uint64_t latency) noexcept;
    void on_qos_queued() noexcept { bump(qos_queued_); }

    [[nodiscard]] const OpCounters& op(IoType type) const {
        return ops_[static_cast<size_t>(type)];
    }
    [[nodiscard]] uint64_t errors(IoStatus status) const {
        return read(errors_[static_cast<size_t>(status)]);
    }
    [[nodiscard]] uint64_t inflight() const { return read(inflight_); }
    [[nodiscard]] uint64_t io_time() const { return read(io_time_); }
    [[nodiscard]] uint64_t weighted_io_time() const { return read(weighted_io_time_); }
    [[nodiscard]] uint64_t qos_queued() const { return read(qos_queued_); }
    [[nodiscard]] const LatencyHistogram& histogram() const { return histogram_; }

  private:
    // Busy time: while requests are in flight, io_time grows with the clock and
    // weighted_io_time with clock * in-flight count (iostat's "util" and "avgqu-sz").
    void account_time(uint64_t now) noexcept;

    std::array<OpCounters, kIoTypes> ops_{};
    std::array<std::atomic<uint64_t>, kIoStatuses> errors_{};  // by IoStatus (success unused)
    std::atomic<uint64_t> inflight_{0};
    std::atomic<uint64_t> io_time_{0};           // ticks
    std::atomic<uint64_t> weighted_io_time_{0};  // ticks * requests
    std::atomic<uint64_t> qos_queued_{0};        // requests that waited for QoS tokens
    uint64_t last_change_ = 0;                   // owner only
    LatencyHistogram histogram_;
};

}  // namespace vhostd::block::stats

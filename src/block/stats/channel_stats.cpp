// ChannelStats: per-request accounting on the owning reactor.
#include "block/stats/channel_stats.hpp"

namespace vhostd::block::stats {

void ChannelStats::account_time(uint64_t now) noexcept {
    const uint64_t depth = read(inflight_);
    if (depth != 0 && now > last_change_) {
        const uint64_t elapsed = now - last_change_;
        bump(io_time_, elapsed);
        bump(weighted_io_time_, elapsed * depth);
    }
    last_change_ = now;
}

void ChannelStats::on_submit(uint64_t now) noexcept {
    account_time(now);
    bump(inflight_);
}

void ChannelStats::on_complete(const IoRequest& request, uint64_t now, uint64_t latency) noexcept {
    account_time(now);
    inflight_.store(read(inflight_) - 1, std::memory_order_relaxed);
    if (request.status != IoStatus::success) {
        // As SPDK does: failed requests count as errors, not as operations or bytes.
        bump(errors_[static_cast<size_t>(request.status)]);
        return;
    }
    OpCounters& op = ops_[static_cast<size_t>(request.type)];
    bump(op.ops);
    bump(op.bytes, request.type == IoType::flush ? 0 : request.length);
    bump(op.latency_sum, latency);
    if (latency < read(op.latency_min)) {
        op.latency_min.store(latency, std::memory_order_relaxed);
    }
    if (latency > read(op.latency_max)) {
        op.latency_max.store(latency, std::memory_order_relaxed);
    }
    histogram_.record(latency);
}

}  // namespace vhostd::block::stats

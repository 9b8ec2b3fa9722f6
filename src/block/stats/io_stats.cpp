// IoStats sums and the per-bdev channel registry.
#include "block/stats/io_stats.hpp"

#include <algorithm>

namespace vhostd::block::stats {
namespace {

void merge_min(uint64_t& into, uint64_t value) {
    // 0 means "none yet" in OpTotals.
    if (value != 0 && (into == 0 || value < into)) {
        into = value;
    }
}

}  // namespace

void IoStats::add(const ChannelStats& channel) {
    for (size_t t = 0; t < kIoTypes; ++t) {
        const OpCounters& c = channel.op(static_cast<IoType>(t));
        OpTotals& total = ops[t];
        const uint64_t n = read(c.ops);
        total.ops += n;
        total.bytes += read(c.bytes);
        total.latency_sum += read(c.latency_sum);
        if (n != 0) {
            merge_min(total.latency_min, std::max<uint64_t>(read(c.latency_min), 1));
            total.latency_max = std::max(total.latency_max, read(c.latency_max));
        }
    }
    for (size_t s = 0; s < kIoStatuses; ++s) {
        errors[s] += channel.errors(static_cast<IoStatus>(s));
    }
    queue_depth += channel.inflight();
    io_time += channel.io_time();
    weighted_io_time += channel.weighted_io_time();
    qos_queued += channel.qos_queued();
    histogram.add(channel.histogram());
}

void IoStats::add(const IoStats& other) {
    for (size_t t = 0; t < kIoTypes; ++t) {
        ops[t].ops += other.ops[t].ops;
        ops[t].bytes += other.ops[t].bytes;
        ops[t].latency_sum += other.ops[t].latency_sum;
        merge_min(ops[t].latency_min, other.ops[t].latency_min);
        ops[t].latency_max = std::max(ops[t].latency_max, other.ops[t].latency_max);
    }
    for (size_t s = 0; s < kIoStatuses; ++s) {
        errors[s] += other.errors[s];
    }
    queue_depth += other.queue_depth;
    io_time += other.io_time;
    weighted_io_time += other.weighted_io_time;
    qos_queued += other.qos_queued;
    channels += other.channels;
    histogram.add(other.histogram);
}

std::shared_ptr<ChannelStats> BdevStats::open_channel() {
    auto channel = std::make_shared<ChannelStats>();
    std::lock_guard lock(mutex_);
    live_.push_back(channel);
    return channel;
}

void BdevStats::close_channel(const std::shared_ptr<ChannelStats>& channel) {
    std::lock_guard lock(mutex_);
    const auto it = std::find(live_.begin(), live_.end(), channel);
    if (it == live_.end()) {
        return;
    }
    retired_.add(*channel);
    retired_.queue_depth = 0;  // a closed channel has drained
    live_.erase(it);
}

IoStats BdevStats::snapshot() const {
    std::lock_guard lock(mutex_);
    IoStats out = retired_;
    for (const auto& channel : live_) {
        out.add(*channel);
    }
    out.channels = live_.size();
    return out;
}

size_t BdevStats::open_channels() const {
    std::lock_guard lock(mutex_);
    return live_.size();
}

}  // namespace vhostd::block::stats

// bdev_get_iostat's per-bdev object.
#include "block/stats/iostat_json.hpp"

#include "block/stats/clock.hpp"

namespace vhostd::block::stats {
namespace {

constexpr uint64_t kTicksPerUs = kTickRate / 1'000'000;

// "<prefix>_latency_ticks", "max_<prefix>_latency_ticks", "min_<prefix>_latency_ticks".
void latency_fields(nlohmann::json& out, const std::string& prefix, const OpTotals& op) {
    out[prefix + "_latency_ticks"] = op.latency_sum;
    out["max_" + prefix + "_latency_ticks"] = op.latency_max;
    out["min_" + prefix + "_latency_ticks"] = op.latency_min;
}

}  // namespace

nlohmann::json histogram_json(const HistogramSnapshot& histogram) {
    nlohmann::json buckets = nlohmann::json::array();
    for (size_t i = 0; i < histogram.counts.size(); ++i) {
        if (histogram.counts[i] != 0) {
            buckets.push_back({{"min_ticks", LatencyHistogram::lower_bound(i)},
                               {"max_ticks", LatencyHistogram::upper_bound(i)},
                               {"count", histogram.counts[i]}});
        }
    }
    return {{"tick_rate", kTickRate},
            {"bucket_count", LatencyHistogram::kBuckets},
            {"percentiles",
             {{"50", histogram.percentile(0.50)},
              {"90", histogram.percentile(0.90)},
              {"99", histogram.percentile(0.99)},
              {"99.9", histogram.percentile(0.999)}}},
            {"buckets", std::move(buckets)}};
}

nlohmann::json iostat_json(const std::string& name, const IoStats& s, bool with_histogram) {
    const OpTotals& rd = s.op(IoType::read);
    const OpTotals& wr = s.op(IoType::write);
    const OpTotals& unmap = s.op(IoType::discard);
    const OpTotals& flush = s.op(IoType::flush);
    const OpTotals& zeroes = s.op(IoType::write_zeroes);
    nlohmann::json out = {
        {"name", name},
        {"bytes_read", rd.bytes},
        {"num_read_ops", rd.ops},
        {"bytes_written", wr.bytes},
        {"num_write_ops", wr.ops},
        {"bytes_unmapped", unmap.bytes},
        {"num_unmap_ops", unmap.ops},
        {"bytes_copied", 0},  // vhostd has no copy command
        {"num_copy_ops", 0},
    };
    latency_fields(out, "read", rd);
    latency_fields(out, "write", wr);
    latency_fields(out, "unmap", unmap);
    latency_fields(out, "copy", OpTotals{});
    nlohmann::json errors = nlohmann::json::object();
    for (size_t i = 0; i < kIoStatuses; ++i) {
        if (s.errors[i] != 0) {
            errors[to_string(static_cast<IoStatus>(i))] = s.errors[i];
        }
    }
    out["io_error"] = std::move(errors);
    // Depth is tracked on every request rather than sampled, so the "polling period" is 1;
    // io_time and weighted_io_time are in microseconds, as SPDK's.
    out["queue_depth_polling_period"] = 1;
    out["queue_depth"] = s.queue_depth;
    out["io_time"] = s.io_time / kTicksPerUs;
    out["weighted_io_time"] = s.weighted_io_time / kTicksPerUs;
    // vhostd's extras.
    out["num_flush_ops"] = flush.ops;
    latency_fields(out, "flush", flush);
    out["bytes_zeroed"] = zeroes.bytes;
    out["num_write_zeroes_ops"] = zeroes.ops;
    latency_fields(out, "write_zeroes", zeroes);
    out["num_qos_queued"] = s.qos_queued;
    out["num_channels"] = s.channels;
    if (with_histogram) {
        out["latency_histogram"] = histogram_json(s.histogram);
    }
    return out;
}

}  // namespace vhostd::block::stats

// A bdev's statistics as one entry of bdev_get_iostat's "bdevs" array, in SPDK's field names
// (bytes_read, num_read_ops, read_latency_ticks, ...), plus vhostd's extras: flush and
// write-zeroes counters and, on request, the latency histogram.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "block/stats/io_stats.hpp"

namespace vhostd::block::stats {

nlohmann::json iostat_json(const std::string& name, const IoStats& stats, bool with_histogram);

// {"tick_rate", "bucket_count", "percentiles": {"50": ticks, ...}, "buckets": [{"min_ticks",
// "max_ticks", "count"}, ...]} with only the buckets that counted something.
nlohmann::json histogram_json(const HistogramSnapshot& histogram);

}  // namespace vhostd::block::stats

// The Prometheus text exposition format (version 0.0.4) of a MetricsSnapshot: bdev I/O
// counters and latency histograms, QoS limits, per-queue controller counters, reactor loops.
// Metric names start with "vhostd_"; see README "Statistics and QoS".
#pragma once

#include <string>

#include "metrics/snapshot.hpp"

namespace vhostd::metrics {

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string render_prometheus(const MetricsSnapshot& snapshot);

}  // namespace vhostd::metrics

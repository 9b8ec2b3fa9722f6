// MetricsSnapshot: everything the metrics endpoint reports, copied out of the live objects
// in one go on the control reactor (which owns the bdev and controller tables); the counters
// themselves are read with relaxed loads, so the I/O reactors are never stopped or locked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "block/bdev_registry.hpp"
#include "block/qos/qos_limits.hpp"
#include "block/stats/io_stats.hpp"
#include "controller/controller_registry.hpp"
#include "reactor/reactor_group.hpp"

namespace vhostd::metrics {

struct BdevSample {
    std::string name;
    block::stats::IoStats stats;
    block::qos::QosLimits qos;
    bool online = true;  // Bdev::state() == online
    // A remote backend's connection health (Bdev::backend_status(): {"<driver>": {"state",
    // "reconnects", "timeouts", ...}}); absent for local backends.
    std::optional<bool> backend_up;
    uint64_t backend_reconnects = 0;
    uint64_t backend_timeouts = 0;
};

struct ControllerSample {
    std::string name;
    std::vector<queue::QueueCounters> queues;
};

struct ReactorSample {
    unsigned id = 0;
    uint64_t busy_iterations = 0;
    uint64_t idle_iterations = 0;
    uint64_t sleeps = 0;
};

struct MetricsSnapshot {
    std::vector<BdevSample> bdevs;
    std::vector<ControllerSample> controllers;
    std::vector<ReactorSample> reactors;
};

// On the control reactor.
MetricsSnapshot take_snapshot(const block::BdevRegistry& bdevs,
                              const controller::ControllerRegistry& controllers,
                              reactor::ReactorGroup& reactors);

}  // namespace vhostd::metrics

// MetricsSnapshot: copying the counters out on the control reactor.
#include "metrics/snapshot.hpp"

namespace vhostd::metrics {

MetricsSnapshot take_snapshot(const block::BdevRegistry& bdevs,
                              const controller::ControllerRegistry& controllers,
                              reactor::ReactorGroup& reactors) {
    MetricsSnapshot out;
    for (const auto& bdev : bdevs.list()) {
        out.bdevs.push_back({bdev->name(), bdev->stats().snapshot(), bdev->qos().limits()});
    }
    for (const controller::Controller* c : controllers.list()) {
        out.controllers.push_back({c->name(), c->queue_counters()});
    }
    for (size_t i = 0; i < reactors.size(); ++i) {
        const reactor::ReactorStats& s = reactors.at(i).stats();
        out.reactors.push_back({reactors.at(i).id(),
                                s.busy_iterations.load(std::memory_order_relaxed),
                                s.idle_iterations.load(std::memory_order_relaxed),
                                s.sleeps.load(std::memory_order_relaxed)});
    }
    return out;
}

}  // namespace vhostd::metrics

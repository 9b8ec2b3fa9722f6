// MetricsSnapshot: copying the counters out on the control reactor.
#include "metrics/snapshot.hpp"

namespace vhostd::metrics {

MetricsSnapshot take_snapshot(const block::BdevRegistry& bdevs,
                              const controller::ControllerRegistry& controllers,
                              reactor::ReactorGroup& reactors) {
    MetricsSnapshot out;
    for (const auto& bdev : bdevs.list()) {
        BdevSample sample{bdev->name(), bdev->stats().snapshot(), bdev->qos().limits()};
        sample.online = bdev->state() == block::BdevState::online;
        const nlohmann::json status = bdev->backend_status();
        if (status.is_object() && status.size() == 1 && status.begin()->is_object()) {
            const nlohmann::json& s = *status.begin();
            sample.backend_up = s.value("state", "up") != "down";
            sample.backend_reconnects = s.value("reconnects", uint64_t{0});
            sample.backend_timeouts = s.value("timeouts", uint64_t{0});
        }
        out.bdevs.push_back(std::move(sample));
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

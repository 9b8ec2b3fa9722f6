// Controller listings: the common fields here, the kind-specific ones from the kind's hooks.
#include "rpc/controller_json.hpp"

namespace vhostd::rpc {

const ControllerKind* controller_kind(const Service& service,
                                      const targets::VhostTargets::Entry& entry) {
    auto it = service.hooks.controller_kinds.find(entry.info.type);
    return it == service.hooks.controller_kinds.end() ? nullptr : &it->second;
}

nlohmann::json describe_controller(const Service& service,
                                   const targets::VhostTargets::Entry& entry) {
    const targets::VhostController& controller = *entry.controller;
    const targets::Coalescing& coalescing = controller.coalescing();
    nlohmann::json sessions = nlohmann::json::array();
    if (controller.connected()) {
        // vhost-user serves one frontend per socket at a time.
        sessions.push_back({{"vid", 0}, {"id", 0}, {"name", controller.name()}, {"started", true}});
    }
    const ControllerKind* kind = controller_kind(service, entry);
    return {
        {"ctrlr", controller.name()},
        {"cpumask", controller.cpumask().to_string()},
        {"delay_base_us", coalescing.delay_base_us},
        {"iops_threshold", coalescing.iops_threshold},
        {"socket", controller.socket_path()},
        {"sessions", std::move(sessions)},
        {"backend_specific", kind != nullptr && kind->backend_specific
                                 ? kind->backend_specific(entry)
                                 : nlohmann::json::object()},
    };
}

void append_coalescing_call(const targets::VhostTargets::Entry& entry, nlohmann::json& calls) {
    const targets::Coalescing& coalescing = entry.controller->coalescing();
    if (coalescing.delay_base_us == targets::Coalescing{}.delay_base_us &&
        coalescing.iops_threshold == targets::Coalescing{}.iops_threshold) {
        return;
    }
    calls.push_back({{"method", "vhost_controller_set_coalescing"},
                     {"params",
                      {{"ctrlr", entry.controller->name()},
                       {"delay_base_us", coalescing.delay_base_us},
                       {"iops_threshold", coalescing.iops_threshold}}}});
}

}  // namespace vhostd::rpc

// Controller kinds' shared registration parts.
#include "controller/controller_rpc.hpp"

namespace vhostd::controller {

void register_controller_kind(ControllerContext& context, const std::string& kind) {
    const ControllerRegistry& controllers = context.controllers;
    context.config.add(kind, {"bdev"}, [&controllers, kind] {
        nlohmann::json calls = nlohmann::json::array();
        for (const Controller* c : controllers.list()) {
            if (c->kind() == kind) {
                for (auto& call : c->config_calls()) {
                    calls.push_back(std::move(call));
                }
            }
        }
        return calls;
    });
}

Result<CpuMask> controller_cpumask(const reactor::ReactorGroup& reactors, std::string_view text) {
    if (text.empty()) {
        return reactors.cpumask();
    }
    CpuMask mask = VHOSTD_TRY(CpuMask::parse(text));
    if (!mask.subset_of(reactors.cpumask())) {
        return make_error(EINVAL, "cpumask {} is not within the reactor mask {}", mask.to_string(),
                          reactors.cpumask().to_string());
    }
    return mask;
}

Result<nlohmann::json> list_family(const ControllerRegistry& controllers, std::string_view family,
                                   const std::optional<std::string>& name) {
    nlohmann::json out = nlohmann::json::array();
    for (const Controller* c : controllers.list()) {
        if (c->family() == family && (!name || c->name() == *name)) {
            out.push_back(c->describe());
        }
    }
    if (name && out.empty()) {
        return make_error(ENODEV, "{} controller {} not found", family, *name);
    }
    return out;
}

}  // namespace vhostd::controller

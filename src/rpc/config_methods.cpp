// save_config: the SPDK-format config ({"subsystems": [{"subsystem", "config": [calls]}]}) that
// recreates the current bdevs and controllers when loaded with -c. rpc.py builds the same
// document itself from framework_get_subsystems and framework_get_config, so those exist too.
#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "rpc/bdev_json.hpp"
#include "rpc/controller_json.hpp"
#include "rpc/params.hpp"
#include "rpc/service.hpp"

namespace vhostd::rpc {
namespace {

// "bdev" first (controllers claim bdevs), then each controller kind's subsystem.
std::vector<std::string> subsystems(const Service& service) {
    std::vector<std::string> out = {"bdev"};
    for (const auto& [type, kind] : service.hooks.controller_kinds) {
        if (std::find(out.begin(), out.end(), kind.subsystem) == out.end()) {
            out.push_back(kind.subsystem);
        }
    }
    return out;
}

// The calls of one subsystem, in creation order.
nlohmann::json subsystem_config(const Service& service, std::string_view subsystem) {
    nlohmann::json calls = nlohmann::json::array();
    if (subsystem == "bdev") {
        for (const auto& bdev : service.bdevs.list()) {
            for (auto& call : bdev_config_calls(service, *bdev)) {
                calls.push_back(std::move(call));
            }
        }
        return calls;
    }
    for (const auto& entry : service.targets.controllers()) {
        const ControllerKind* kind = controller_kind(service, entry);
        if (kind != nullptr && kind->subsystem == subsystem && kind->config_calls) {
            for (auto& call : kind->config_calls(entry)) {
                calls.push_back(std::move(call));
            }
        }
    }
    return calls;
}

RpcResult save_config(const Service& service, const nlohmann::json* json) {
    Params p(json);
    RPC_TRY(p.finish());
    nlohmann::json list = nlohmann::json::array();
    for (const std::string& name : subsystems(service)) {
        list.push_back({{"subsystem", name}, {"config", subsystem_config(service, name)}});
    }
    return nlohmann::json{{"subsystems", std::move(list)}};
}

RpcResult framework_get_subsystems(const Service& service, const nlohmann::json* json) {
    Params p(json);
    RPC_TRY(p.finish());
    nlohmann::json out = nlohmann::json::array();
    for (const std::string& name : subsystems(service)) {
        nlohmann::json depends = nlohmann::json::array();
        if (name != "bdev") {
            depends.push_back("bdev");
        }
        out.push_back({{"subsystem", name}, {"depends_on", std::move(depends)}});
    }
    return out;
}

RpcResult framework_get_config(const Service& service, const nlohmann::json* json) {
    Params p(json);
    const std::string name = RPC_TRY(p.string("name"));
    RPC_TRY(p.finish());
    const auto known = subsystems(service);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
        return operation_failed(
            make_error(ENODEV, "subsystem {} not found (known: {})", name, fmt::join(known, ", "))
                .error());
    }
    return subsystem_config(service, name);
}

}  // namespace

void register_config_methods(MethodTable& table, Service& service) {
    table.add_sync("save_config",
                   [&service](const nlohmann::json* p) { return save_config(service, p); });
    table.add_sync("framework_get_subsystems", [&service](const nlohmann::json* p) {
        return framework_get_subsystems(service, p);
    });
    table.add_sync("framework_get_config", [&service](const nlohmann::json* p) {
        return framework_get_config(service, p);
    });
}

}  // namespace vhostd::rpc

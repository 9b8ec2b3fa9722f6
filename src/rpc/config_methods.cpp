// save_config: the SPDK-format config ({"subsystems": [{"subsystem", "config": [calls]}]}) that
// recreates the current objects when loaded with -c. rpc.py builds the same document itself
// from framework_get_subsystems and framework_get_config, so those exist too.
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "rpc/config_registry.hpp"
#include "rpc/params.hpp"

namespace vhostd::rpc {
namespace {

RpcResult save_config(const ConfigRegistry& registry, const nlohmann::json* json) {
    Params p(json);
    RPC_TRY(p.finish());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& subsystem : registry.subsystems()) {
        list.push_back({{"subsystem", subsystem.name}, {"config", registry.config(subsystem)}});
    }
    return nlohmann::json{{"subsystems", std::move(list)}};
}

RpcResult framework_get_subsystems(const ConfigRegistry& registry, const nlohmann::json* json) {
    Params p(json);
    RPC_TRY(p.finish());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& subsystem : registry.subsystems()) {
        out.push_back({{"subsystem", subsystem.name}, {"depends_on", subsystem.depends_on}});
    }
    return out;
}

RpcResult framework_get_config(const ConfigRegistry& registry, const nlohmann::json* json) {
    Params p(json);
    const std::string name = RPC_TRY(p.string("name"));
    // Current SPDK: keep batch arrays in the output or flatten them. vhostd's subsystems write
    // single calls only, so both answers are the same flat list.
    RPC_TRY(p.optional_bool("with_batches"));
    RPC_TRY(p.finish());
    const ConfigRegistry::Subsystem* subsystem = registry.find(name);
    if (subsystem == nullptr) {
        std::vector<std::string> known;
        for (const auto& s : registry.subsystems()) {
            known.push_back(s.name);
        }
        return operation_failed(
            make_error(ENODEV, "subsystem {} not found (known: {})", name, fmt::join(known, ", "))
                .error());
    }
    return registry.config(*subsystem);
}

}  // namespace

void register_config_methods(MethodTable& table, const ConfigRegistry& registry) {
    table.add_sync("save_config",
                   [&registry](const nlohmann::json* p) { return save_config(registry, p); });
    table.add_sync("framework_get_subsystems", [&registry](const nlohmann::json* p) {
        return framework_get_subsystems(registry, p);
    });
    table.add_sync("framework_get_config", [&registry](const nlohmann::json* p) {
        return framework_get_config(registry, p);
    });
}

}  // namespace vhostd::rpc

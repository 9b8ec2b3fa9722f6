// vhost methods (SPDK names): vhost_create_blk_controller (true), vhost_delete_controller
// (true; refused while a frontend is attached), vhost_get_controllers; and how blk
// controllers are listed and saved.
#include "rpc/controller_json.hpp"
#include "rpc/params.hpp"
#include "rpc/service.hpp"

namespace vhostd::rpc {
namespace {

RpcResult vhost_create_blk_controller(Service& service, const nlohmann::json* json) {
    Params p(json);
    targets::BlkControllerParams params;
    params.ctrlr = RPC_TRY(p.string("ctrlr"));
    params.dev_name = RPC_TRY(p.string("dev_name"));
    params.cpumask = RPC_TRY(p.optional_string("cpumask")).value_or("");
    params.readonly = RPC_TRY(p.optional_bool("readonly")).value_or(false);
    params.packed_ring = RPC_TRY(p.optional_bool("packed_ring")).value_or(false);
    RPC_TRY(p.only_default("packed_ring_recovery", false));
    RPC_TRY(p.only_default("transport", "vhost_user_blk"));
    RPC_TRY(p.finish());
    if (auto created = service.targets.create_blk_controller(params); !created) {
        return operation_failed(created.error());
    }
    return true;
}

// Finishes later: the controller's queues drain before it is gone.
void vhost_delete_controller(Service& service, const nlohmann::json* json, Reply reply) {
    Params p(json);
    auto ctrlr = p.string("ctrlr");
    if (!ctrlr) {
        reply(std::unexpected(ctrlr.error()));
        return;
    }
    if (auto finished = p.finish(); !finished) {
        reply(std::unexpected(finished.error()));
        return;
    }
    service.targets.delete_controller(*ctrlr, [reply = std::move(reply)](Result<void> r) mutable {
        if (!r) {
            reply(operation_failed(r.error()));
            return;
        }
        reply(true);
    });
}

RpcResult vhost_get_controllers(Service& service, const nlohmann::json* json) {
    Params p(json);
    const auto name = RPC_TRY(p.optional_string("name"));
    RPC_TRY(p.finish());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& entry : service.targets.controllers()) {
        if (!name || entry.controller->name() == *name) {
            out.push_back(describe_controller(service, entry));
        }
    }
    if (name && out.empty()) {
        return operation_failed(make_error(ENODEV, "vhost controller {} not found", *name).error());
    }
    return out;
}

ControllerKind blk_kind() {
    ControllerKind kind;
    kind.subsystem = "vhost_blk";
    kind.backend_specific = [](const targets::VhostTargets::Entry& entry) -> nlohmann::json {
        return {{"block",
                 {{"readonly", entry.info.readonly},
                  {"bdev", entry.info.bdev_name},
                  {"transport", "vhost_user_blk"}}}};
    };
    kind.config_calls = [](const targets::VhostTargets::Entry& entry) {
        nlohmann::json params = {{"ctrlr", entry.controller->name()},
                                 {"dev_name", entry.info.bdev_name},
                                 {"cpumask", entry.controller->cpumask().to_string()}};
        if (entry.info.readonly) {
            params["readonly"] = true;
        }
        if (entry.info.packed_ring) {
            params["packed_ring"] = true;
        }
        nlohmann::json calls = nlohmann::json::array();
        calls.push_back({{"method", "vhost_create_blk_controller"}, {"params", std::move(params)}});
        append_coalescing_call(entry, calls);
        return calls;
    };
    return kind;
}

}  // namespace

void register_vhost_methods(MethodTable& table, Service& service) {
    service.hooks.controller_kinds.insert_or_assign("blk", blk_kind());
    table.add_sync("vhost_create_blk_controller", [&service](const nlohmann::json* p) {
        return vhost_create_blk_controller(service, p);
    });
    table.add("vhost_delete_controller", [&service](const nlohmann::json* p, Reply reply) {
        vhost_delete_controller(service, p, std::move(reply));
    });
    table.add_sync("vhost_get_controllers", [&service](const nlohmann::json* p) {
        return vhost_get_controllers(service, p);
    });
}

}  // namespace vhostd::rpc

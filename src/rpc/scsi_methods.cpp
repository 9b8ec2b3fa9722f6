// virtio-scsi methods (SPDK names): vhost_create_scsi_controller (true),
// vhost_scsi_controller_add_target (the target number), vhost_scsi_controller_remove_target
// (true, once the target is drained); and how scsi controllers are listed and saved.
#include <algorithm>

#include <fmt/format.h>

#include "rpc/controller_json.hpp"
#include "rpc/params.hpp"
#include "rpc/service.hpp"
#include "targets/scsi_target_set.hpp"

namespace vhostd::rpc {
namespace {

RpcResult vhost_create_scsi_controller(Service& service, const nlohmann::json* json) {
    Params p(json);
    targets::ScsiControllerParams params;
    params.ctrlr = RPC_TRY(p.string("ctrlr"));
    params.cpumask = RPC_TRY(p.optional_string("cpumask")).value_or("");
    // SPDK's "delay" holds the controller back until vhost_start_scsi_controller.
    RPC_TRY(p.only_default("delay", false));
    RPC_TRY(p.finish());
    if (auto created = service.targets.create_scsi_controller(params); !created) {
        return operation_failed(created.error());
    }
    return true;
}

RpcResult vhost_scsi_controller_add_target(Service& service, const nlohmann::json* json) {
    Params p(json);
    const std::string ctrlr = RPC_TRY(p.string("ctrlr"));
    // SPDK: scsi_target_num -1 takes the lowest free target number.
    int64_t num = -1;
    const bool any_free = json != nullptr && json->is_object() &&
                          json->contains("scsi_target_num") && json->at("scsi_target_num") == -1;
    if (any_free) {
        RPC_TRY(p.only_default("scsi_target_num", -1));
    } else {
        num = static_cast<int64_t>(std::min<uint64_t>(RPC_TRY(p.u64("scsi_target_num")), 1 << 20));
    }
    const std::string bdev_name = RPC_TRY(p.string("bdev_name"));
    RPC_TRY(p.finish());
    auto added = service.targets.scsi_add_target(ctrlr, num, bdev_name);
    if (!added) {
        return operation_failed(added.error());
    }
    return *added;
}

// Finishes later: in-flight commands to the target complete first.
void vhost_scsi_controller_remove_target(Service& service, const nlohmann::json* json,
                                         Reply reply) {
    Params p(json);
    auto ctrlr = p.string("ctrlr");
    auto num = p.u64("scsi_target_num");
    auto finished = p.finish();
    if (!ctrlr || !num || !finished) {
        reply(std::unexpected(!ctrlr ? ctrlr.error() : !num ? num.error() : finished.error()));
        return;
    }
    const auto id = static_cast<uint32_t>(std::min<uint64_t>(*num, UINT32_MAX));
    service.targets.scsi_remove_target(*ctrlr, id,
                                       [reply = std::move(reply)](Result<void> r) mutable {
                                           if (!r) {
                                               reply(operation_failed(r.error()));
                                               return;
                                           }
                                           reply(true);
                                       });
}

ControllerKind scsi_kind() {
    ControllerKind kind;
    kind.subsystem = "vhost_scsi";
    // SPDK's listing: one entry per target with its LUN 0.
    kind.backend_specific = [](const targets::VhostTargets::Entry& entry) -> nlohmann::json {
        nlohmann::json targets = nlohmann::json::array();
        for (const targets::ScsiTargetInfo& t : entry.info.scsi->targets()) {
            targets.push_back({{"scsi_dev_num", t.id},
                               {"id", t.id},
                               {"target_name", fmt::format("Target {}", t.id)},
                               {"luns", {{{"id", 0}, {"bdev_name", t.bdev_name}}}}});
        }
        return {{"scsi", std::move(targets)}};
    };
    kind.config_calls = [](const targets::VhostTargets::Entry& entry) {
        const std::string& ctrlr = entry.controller->name();
        nlohmann::json calls = nlohmann::json::array();
        calls.push_back(
            {{"method", "vhost_create_scsi_controller"},
             {"params", {{"ctrlr", ctrlr}, {"cpumask", entry.controller->cpumask().to_string()}}}});
        for (const targets::ScsiTargetInfo& t : entry.info.scsi->targets()) {
            calls.push_back(
                {{"method", "vhost_scsi_controller_add_target"},
                 {"params",
                  {{"ctrlr", ctrlr}, {"scsi_target_num", t.id}, {"bdev_name", t.bdev_name}}}});
        }
        append_coalescing_call(entry, calls);
        return calls;
    };
    return kind;
}

}  // namespace

void register_scsi_methods(MethodTable& table, Service& service) {
    table.add_sync("vhost_create_scsi_controller", [&service](const nlohmann::json* p) {
        return vhost_create_scsi_controller(service, p);
    });
    table.add_sync("vhost_scsi_controller_add_target", [&service](const nlohmann::json* p) {
        return vhost_scsi_controller_add_target(service, p);
    });
    table.add("vhost_scsi_controller_remove_target",
              [&service](const nlohmann::json* p, Reply reply) {
                  vhost_scsi_controller_remove_target(service, p, std::move(reply));
              });
    service.hooks.controller_kinds.insert_or_assign("scsi", scsi_kind());
}

}  // namespace vhostd::rpc

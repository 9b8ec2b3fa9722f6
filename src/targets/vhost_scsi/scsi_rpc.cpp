// The vhost_scsi kind's methods (SPDK names and parameters): vhost_create_scsi_controller
// (true), vhost_scsi_controller_add_target (the target number), vhost_scsi_controller_
// remove_target (true, once the target is drained).
#include <algorithm>

#include "rpc/params.hpp"
#include "targets/vhost/vhost_rpc.hpp"
#include "targets/vhost_scsi/scsi_controller.hpp"

namespace vhostd::targets {
namespace {

using rpc::operation_failed;
using rpc::Params;
using rpc::Reply;
using rpc::RpcResult;

Result<ScsiController*> find_scsi(const controller::ControllerRegistry& controllers,
                                  std::string_view ctrlr) {
    VhostController* vhost = VHOSTD_TRY(find_vhost(controllers, ctrlr));
    auto* scsi = dynamic_cast<ScsiController*>(vhost);
    if (scsi == nullptr) {
        return make_error(EINVAL, "vhost controller {} is not a SCSI controller", ctrlr);
    }
    return scsi;
}

RpcResult vhost_create_scsi_controller(controller::ControllerContext& context,
                                       const nlohmann::json* json) {
    Params p(json);
    ScsiControllerParams params;
    params.ctrlr = RPC_TRY(p.string("ctrlr"));
    params.cpumask = RPC_TRY(p.optional_string("cpumask")).value_or("");
    // vhostd's: as vhost_create_blk_controller's packed_ring (SPDK's SCSI has none).
    params.packed_ring = RPC_TRY(p.optional_bool("packed_ring")).value_or(false);
    // SPDK's "delay" holds the controller back until vhost_start_scsi_controller.
    RPC_TRY(p.only_default("delay", false));
    RPC_TRY(p.finish());
    auto created = ScsiController::create(params, context);
    if (!created) {
        return operation_failed(created.error());
    }
    if (auto added = context.controllers.add(std::move(*created)); !added) {
        return operation_failed(added.error());
    }
    return true;
}

RpcResult vhost_scsi_controller_add_target(controller::ControllerContext& context,
                                           const nlohmann::json* json) {
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
    auto scsi = find_scsi(context.controllers, ctrlr);
    if (!scsi) {
        return operation_failed(scsi.error());
    }
    auto added = (*scsi)->targets().add(num, bdev_name);
    if (!added) {
        return operation_failed(added.error());
    }
    return *added;
}

// Finishes later: in-flight commands to the target complete first.
void vhost_scsi_controller_remove_target(controller::ControllerContext& context,
                                         const nlohmann::json* json, Reply reply) {
    Params p(json);
    auto ctrlr = p.string("ctrlr");
    auto num = p.u64("scsi_target_num");
    auto finished = p.finish();
    if (!ctrlr || !num || !finished) {
        reply(std::unexpected(!ctrlr ? ctrlr.error() : !num ? num.error() : finished.error()));
        return;
    }
    auto scsi = find_scsi(context.controllers, *ctrlr);
    if (!scsi) {
        reply(operation_failed(scsi.error()));
        return;
    }
    const auto id = static_cast<uint32_t>(std::min<uint64_t>(*num, UINT32_MAX));
    auto shared_reply = std::make_shared<Reply>(std::move(reply));
    auto removed = (*scsi)->targets().remove(id, [shared_reply] { (*shared_reply)(true); });
    if (!removed) {
        (*shared_reply)(operation_failed(removed.error()));
    }
}

}  // namespace

void register_vhost_scsi(controller::ControllerContext& context) {
    context.methods.add_sync("vhost_create_scsi_controller", [&context](const nlohmann::json* p) {
        return vhost_create_scsi_controller(context, p);
    });
    context.methods.add_sync("vhost_scsi_controller_add_target",
                             [&context](const nlohmann::json* p) {
                                 return vhost_scsi_controller_add_target(context, p);
                             });
    context.methods.add("vhost_scsi_controller_remove_target",
                        [&context](const nlohmann::json* p, Reply reply) {
                            vhost_scsi_controller_remove_target(context, p, std::move(reply));
                        });
    controller::register_controller_kind(context, "vhost_scsi");
}

}  // namespace vhostd::targets

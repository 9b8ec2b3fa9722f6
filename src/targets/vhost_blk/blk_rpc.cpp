// vhost_create_blk_controller (SPDK's name and parameters; true) and the vhost_blk kind.
#include "rpc/params.hpp"
#include "targets/vhost_blk/blk_controller.hpp"

namespace vhostd::targets {
namespace {

rpc::RpcResult vhost_create_blk_controller(controller::ControllerContext& context,
                                           const nlohmann::json* json) {
    rpc::Params p(json);
    BlkControllerParams params;
    params.ctrlr = RPC_TRY(p.string("ctrlr"));
    params.dev_name = RPC_TRY(p.string("dev_name"));
    params.cpumask = RPC_TRY(p.optional_string("cpumask")).value_or("");
    params.readonly = RPC_TRY(p.optional_bool("readonly")).value_or(false);
    params.packed_ring = RPC_TRY(p.optional_bool("packed_ring")).value_or(false);
    // SPDK recovers a packed ring's position from the inflight region only when asked; vhostd
    // always does (the region is what survives a restart), so either value is accepted.
    (void)RPC_TRY(p.optional_bool("packed_ring_recovery"));
    RPC_TRY(p.only_default("transport", "vhost_user_blk"));
    RPC_TRY(p.finish());
    auto created = BlkController::create(params, context);
    if (!created) {
        return rpc::operation_failed(created.error());
    }
    if (auto added = context.controllers.add(std::move(*created)); !added) {
        return rpc::operation_failed(added.error());
    }
    return true;
}

}  // namespace

void register_vhost_blk(controller::ControllerContext& context) {
    context.methods.add_sync("vhost_create_blk_controller", [&context](const nlohmann::json* p) {
        return vhost_create_blk_controller(context, p);
    });
    controller::register_controller_kind(context, "vhost_blk");
}

}  // namespace vhostd::targets

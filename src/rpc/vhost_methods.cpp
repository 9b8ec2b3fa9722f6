// vhost methods: vhost_create_blk_controller, with SPDK's parameter names (result: true).
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

}  // namespace

void register_vhost_methods(MethodTable& table, Service& service) {
    table.add_sync("vhost_create_blk_controller", [&service](const nlohmann::json* p) {
        return vhost_create_blk_controller(service, p);
    });
}

}  // namespace vhostd::rpc

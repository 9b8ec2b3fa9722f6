// The uring module's methods (SPDK names and parameters): bdev_uring_create (the new bdev's
// name), bdev_uring_delete (true) and bdev_uring_rescan {"name"} (true: the file's or device's
// size is read again; a controller using the bdev hears of a change).
#include "block/backends/uring/uring_bdev.hpp"
#include "block/bdev_rpc.hpp"

namespace vhostd::block {
namespace {

rpc::RpcResult bdev_uring_create_rpc(BdevRegistry& bdevs, const nlohmann::json* json) {
    rpc::Params p(json);
    UringParams params;
    params.name = RPC_TRY(p.string("name"));
    params.filename = RPC_TRY(p.string("filename"));
    params.block_size = RPC_TRY(block_size_param(p, false));
    params.uuid = RPC_TRY(p.optional_string("uuid")).value_or("");
    RPC_TRY(p.finish());
    return add_bdev(bdevs, bdev_uring_create(params));
}

rpc::RpcResult bdev_uring_rescan_rpc(BdevRegistry& bdevs, const nlohmann::json* json) {
    rpc::Params p(json);
    const std::string name = RPC_TRY(p.string("name"));
    RPC_TRY(p.finish());
    auto bdev = RPC_TRY(find_bdev(bdevs, name));
    // As SPDK: a bdev nobody has open may shrink; one a controller holds may only grow.
    const bool may_shrink = bdevs.claimed_by(bdev->name()) == nullptr;
    if (auto rescanned = bdev_uring_rescan(*bdev, may_shrink); !rescanned) {
        return rpc::operation_failed(rescanned.error());
    }
    return true;
}

}  // namespace

void register_uring_module(ModuleContext& context) {
    BdevRegistry& bdevs = context.bdevs;
    context.methods.add_sync("bdev_uring_create", [&bdevs](const nlohmann::json* p) {
        return bdev_uring_create_rpc(bdevs, p);
    });
    context.methods.add_sync("bdev_uring_rescan", [&bdevs](const nlohmann::json* p) {
        return bdev_uring_rescan_rpc(bdevs, p);
    });
    register_delete_method(context, "uring");
}

}  // namespace vhostd::block

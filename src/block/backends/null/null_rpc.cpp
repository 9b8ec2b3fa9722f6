// The null module's methods (SPDK names and parameters): bdev_null_create (the new bdev's
// name), bdev_null_delete (true) and bdev_null_resize {"name", "new_size" (MiB)} (true; a
// controller using the bdev hears of the change).
#include "block/backends/null/null_bdev.hpp"
#include "block/bdev_rpc.hpp"

namespace vhostd::block {
namespace {

rpc::RpcResult bdev_null_create_rpc(BdevRegistry& bdevs, const nlohmann::json* json) {
    rpc::Params p(json);
    NullParams params;
    params.name = RPC_TRY(p.string("name"));
    params.num_blocks = RPC_TRY(p.u64("num_blocks"));
    params.block_size = RPC_TRY(block_size_param(p, true));
    params.uuid = RPC_TRY(p.optional_string("uuid")).value_or("");
    RPC_TRY(p.only_default("physical_block_size", 0));
    RPC_TRY(refuse_metadata(p));
    RPC_TRY(p.finish());
    return add_bdev(bdevs, bdev_null_create(params));
}

rpc::RpcResult bdev_null_resize_rpc(BdevRegistry& bdevs, const nlohmann::json* json) {
    rpc::Params p(json);
    const std::string name = RPC_TRY(p.string("name"));
    const uint64_t new_size_mib = RPC_TRY(p.u64("new_size"));
    RPC_TRY(p.finish());
    auto bdev = RPC_TRY(find_bdev(bdevs, name));
    if (auto resized = bdev_null_resize(*bdev, new_size_mib); !resized) {
        return rpc::operation_failed(resized.error());
    }
    return true;
}

}  // namespace

void register_null_module(ModuleContext& context) {
    BdevRegistry& bdevs = context.bdevs;
    context.methods.add_sync("bdev_null_create", [&bdevs](const nlohmann::json* p) {
        return bdev_null_create_rpc(bdevs, p);
    });
    context.methods.add_sync("bdev_null_resize", [&bdevs](const nlohmann::json* p) {
        return bdev_null_resize_rpc(bdevs, p);
    });
    register_delete_method(context, "null");
}

}  // namespace vhostd::block

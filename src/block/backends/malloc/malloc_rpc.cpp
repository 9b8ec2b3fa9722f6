// The malloc module's methods (SPDK names and parameters): bdev_malloc_create (the new bdev's
// name) and bdev_malloc_delete (true).
#include <fmt/format.h>

#include "block/backends/malloc/malloc_bdev.hpp"
#include "block/bdev_rpc.hpp"

namespace vhostd::block {
namespace {

std::string next_malloc_name(const BdevRegistry& bdevs) {
    for (unsigned i = 0;; ++i) {
        std::string name = fmt::format("Malloc{}", i);
        if (!bdevs.find(name)) {
            return name;
        }
    }
}

rpc::RpcResult bdev_malloc_create_rpc(BdevRegistry& bdevs, const nlohmann::json* json) {
    rpc::Params p(json);
    MallocParams params;
    params.name = RPC_TRY(p.optional_string("name")).value_or(next_malloc_name(bdevs));
    params.num_blocks = RPC_TRY(p.u64("num_blocks"));
    params.block_size = RPC_TRY(block_size_param(p, true));
    params.uuid = RPC_TRY(p.optional_string("uuid")).value_or("");
    RPC_TRY(p.only_default("physical_block_size", 0));
    RPC_TRY(p.optional_u64("optimal_io_boundary"));  // a hint; RAM has no preferred size
    RPC_TRY(refuse_metadata(p));
    RPC_TRY(p.finish());
    return add_bdev(bdevs, bdev_malloc_create(params));
}

}  // namespace

void register_malloc_module(ModuleContext& context) {
    context.methods.add_sync("bdev_malloc_create",
                             [&bdevs = context.bdevs](const nlohmann::json* p) {
                                 return bdev_malloc_create_rpc(bdevs, p);
                             });
    register_delete_method(context, "malloc");
}

}  // namespace vhostd::block

// Block-device methods: bdev_malloc_create, bdev_null_create, bdev_uring_create, with SPDK's
// parameter names and result shapes (the new bdev's name).
#include <fmt/format.h>

#include "block/malloc/malloc_bdev.hpp"
#include "block/null/null_bdev.hpp"
#include "block/uring/uring_bdev.hpp"
#include "rpc/params.hpp"
#include "rpc/service.hpp"

namespace vhostd::rpc {
namespace {

// Metadata/DIF parameters SPDK accepts for RAM-like bdevs; vhostd supports only the defaults.
std::expected<void, RpcError> refuse_metadata(Params& p) {
    for (const char* key : {"md_size", "dif_type", "dif_pi_format"}) {
        RPC_TRY(p.only_default(key, 0));
    }
    for (const char* key : {"md_interleave", "dif_is_head_of_md"}) {
        RPC_TRY(p.only_default(key, false));
    }
    return {};
}

std::expected<uint32_t, RpcError> block_size(Params& p, bool required) {
    auto value = RPC_TRY(p.optional_u64("block_size"));
    if (!value) {
        if (required)
            return invalid_params("params.block_size: expected an unsigned integer (required)");
        return 0;
    }
    if (*value > UINT32_MAX)
        return invalid_params("params.block_size: too large");
    return static_cast<uint32_t>(*value);
}

RpcResult add_bdev(Service& service, Result<std::shared_ptr<block::Bdev>> bdev) {
    if (!bdev)
        return operation_failed(bdev.error());
    const std::string name = (*bdev)->name();
    if (auto added = service.bdevs.add(std::move(*bdev)); !added) {
        return operation_failed(added.error());
    }
    return name;
}

std::string next_malloc_name(const block::BdevRegistry& bdevs) {
    for (unsigned i = 0;; ++i) {
        std::string name = fmt::format("Malloc{}", i);
        if (!bdevs.find(name))
            return name;
    }
}

RpcResult bdev_malloc_create(Service& service, const nlohmann::json* json) {
    Params p(json);
    block::MallocParams params;
    params.name = RPC_TRY(p.optional_string("name")).value_or(next_malloc_name(service.bdevs));
    params.num_blocks = RPC_TRY(p.u64("num_blocks"));
    params.block_size = RPC_TRY(block_size(p, true));
    params.uuid = RPC_TRY(p.optional_string("uuid")).value_or("");
    RPC_TRY(p.only_default("physical_block_size", 0));
    RPC_TRY(p.optional_u64("optimal_io_boundary"));  // a hint; RAM has no preferred size
    RPC_TRY(refuse_metadata(p));
    RPC_TRY(p.finish());
    return add_bdev(service, block::bdev_malloc_create(params));
}

RpcResult bdev_null_create(Service& service, const nlohmann::json* json) {
    Params p(json);
    block::NullParams params;
    params.name = RPC_TRY(p.string("name"));
    params.num_blocks = RPC_TRY(p.u64("num_blocks"));
    params.block_size = RPC_TRY(block_size(p, true));
    params.uuid = RPC_TRY(p.optional_string("uuid")).value_or("");
    RPC_TRY(p.only_default("physical_block_size", 0));
    RPC_TRY(refuse_metadata(p));
    RPC_TRY(p.finish());
    return add_bdev(service, block::bdev_null_create(params));
}

RpcResult bdev_uring_create(Service& service, const nlohmann::json* json) {
    Params p(json);
    block::UringParams params;
    params.name = RPC_TRY(p.string("name"));
    params.filename = RPC_TRY(p.string("filename"));
    params.block_size = RPC_TRY(block_size(p, false));
    params.uuid = RPC_TRY(p.optional_string("uuid")).value_or("");
    RPC_TRY(p.finish());
    return add_bdev(service, block::bdev_uring_create(params));
}

}  // namespace

void register_bdev_methods(MethodTable& table, Service& service) {
    table.add_sync("bdev_malloc_create",
                   [&service](const nlohmann::json* p) { return bdev_malloc_create(service, p); });
    table.add_sync("bdev_null_create",
                   [&service](const nlohmann::json* p) { return bdev_null_create(service, p); });
    table.add_sync("bdev_uring_create",
                   [&service](const nlohmann::json* p) { return bdev_uring_create(service, p); });
}

}  // namespace vhostd::rpc

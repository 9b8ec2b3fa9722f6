// Block-device methods with SPDK's parameter names and result shapes: bdev_{malloc,null,uring}
// _create (the new bdev's name), bdev_{malloc,null,uring}_delete (true), bdev_get_bdevs.
#include <fmt/format.h>

#include "block/malloc/malloc_bdev.hpp"
#include "block/null/null_bdev.hpp"
#include "block/uring/uring_bdev.hpp"
#include "rpc/bdev_json.hpp"
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

// bdev_<driver>_delete {"name"}: only a bdev of that driver, and never one a controller holds.
RpcResult bdev_delete(Service& service, const nlohmann::json* json, std::string_view driver) {
    Params p(json);
    const std::string name = RPC_TRY(p.string("name"));
    RPC_TRY(p.finish());
    std::shared_ptr<block::Bdev> bdev = service.bdevs.find(name);
    if (!bdev || bdev->name() != name) {  // by name only: a UUID does not delete
        return no_bdev(name);
    }
    if (bdev_driver(*bdev) != driver) {
        return operation_failed(make_error(ENODEV, "bdev {} is a {} bdev, not a {} bdev", name,
                                           bdev_driver(*bdev), driver)
                                    .error());
    }
    if (auto removed = service.bdevs.remove(name); !removed) {
        return operation_failed(removed.error());
    }
    return true;
}

// bdev_get_bdevs {"name"?, "timeout"?}: every bdev, or the one named (by name or UUID).
RpcResult bdev_get_bdevs(Service& service, const nlohmann::json* json) {
    Params p(json);
    const auto name = RPC_TRY(p.optional_string("name"));
    RPC_TRY(p.optional_u64("timeout"));  // SPDK waits for a bdev to appear; ours exist or not
    RPC_TRY(p.finish());
    nlohmann::json out = nlohmann::json::array();
    if (name) {
        const auto bdev = RPC_TRY(find_bdev(service, *name));
        out.push_back(describe_bdev(service, *bdev));
        return out;
    }
    for (const auto& bdev : service.bdevs.list()) {
        out.push_back(describe_bdev(service, *bdev));
    }
    return out;
}

}  // namespace

void register_bdev_methods(MethodTable& table, Service& service) {
    table.add_sync("bdev_malloc_create",
                   [&service](const nlohmann::json* p) { return bdev_malloc_create(service, p); });
    table.add_sync("bdev_null_create",
                   [&service](const nlohmann::json* p) { return bdev_null_create(service, p); });
    table.add_sync("bdev_uring_create",
                   [&service](const nlohmann::json* p) { return bdev_uring_create(service, p); });
    for (const char* driver : {"malloc", "null", "uring"}) {
        table.add_sync(fmt::format("bdev_{}_delete", driver),
                       [&service, driver](const nlohmann::json* p) {
                           return bdev_delete(service, p, driver);
                       });
    }
    table.add_sync("bdev_get_bdevs",
                   [&service](const nlohmann::json* p) { return bdev_get_bdevs(service, p); });
}

}  // namespace vhostd::rpc

// The RBD module's methods, with SPDK's names, parameters and results (module/bdev/rbd):
// bdev_rbd_register_cluster, bdev_rbd_unregister_cluster, bdev_rbd_get_clusters_info,
// bdev_rbd_create, bdev_rbd_delete, bdev_rbd_resize; plus vhostd's io_timeout_ms on
// register_cluster and create. Methods that reach the cluster answer asynchronously, within
// their timeout, so that RPC stays responsive while a cluster does not answer.
#include <limits>

#include "block/backends/rbd/rbd_module.hpp"
#include "block/bdev_rpc.hpp"

namespace vhostd::block {
namespace {

using rpc::RpcError;

// SPDK's "config" / "config_param": an object of Ceph option names to string values; null is
// an empty object (SPDK's decoder). Taken out of `params` so that rpc::Params sees the rest.
std::expected<std::optional<CephOptions>, RpcError> take_options(nlohmann::json& params,
                                                                 const char* key) {
    if (!params.is_object() || !params.contains(key)) {
        return std::nullopt;
    }
    nlohmann::json value = std::move(params[key]);
    params.erase(key);
    CephOptions options;
    if (value.is_null()) {
        return options;
    }
    if (!value.is_object()) {
        return rpc::invalid_params(fmt::format("params.{}: expected an object", key));
    }
    for (const auto& [name, v] : value.items()) {
        if (!v.is_string() || name.empty()) {
            return rpc::invalid_params(
                fmt::format("params.{}.{}: expected a string value", key, name));
        }
        options.emplace_back(name, v.get<std::string>());
    }
    return options;
}

std::expected<uint32_t, RpcError> io_timeout(rpc::Params& p) {
    const uint64_t timeout = RPC_TRY(p.optional_u64("io_timeout_ms")).value_or(30'000);
    if (timeout == 0 || timeout > 3'600'000) {
        return rpc::invalid_params("params.io_timeout_ms: expected 1 to 3600000");
    }
    return static_cast<uint32_t>(timeout);
}

nlohmann::json copy_params(const nlohmann::json* json) {
    return json != nullptr ? *json : nlohmann::json(nullptr);
}

std::expected<RbdClusterParams, RpcError> parse_cluster(const nlohmann::json* json) {
    nlohmann::json rest = copy_params(json);
    RbdClusterParams params;
    params.config_param = RPC_TRY(take_options(rest, "config_param"));
    rpc::Params p(rest.is_null() ? nullptr : &rest);
    params.name = RPC_TRY(p.string("name"));
    params.user_id = RPC_TRY(p.optional_string("user_id")).value_or("");
    params.config_file = RPC_TRY(p.optional_string("config_file")).value_or("");
    params.key_file = RPC_TRY(p.optional_string("key_file")).value_or("");
    params.core_mask = RPC_TRY(p.optional_string("core_mask")).value_or("");
    params.io_timeout_ms = RPC_TRY(io_timeout(p));
    RPC_TRY(p.finish());
    if (params.name.empty()) {
        return rpc::invalid_params("params.name: expected a non-empty string");
    }
    return params;
}

std::expected<RbdParams, RpcError> parse_create(const nlohmann::json* json) {
    nlohmann::json rest = copy_params(json);
    RbdParams params;
    params.config = RPC_TRY(take_options(rest, "config"));
    rpc::Params p(rest.is_null() ? nullptr : &rest);
    params.name = RPC_TRY(p.optional_string("name")).value_or("");
    params.user_id = RPC_TRY(p.optional_string("user_id")).value_or("");
    params.pool_name = RPC_TRY(p.string("pool_name"));
    params.rbd_name = RPC_TRY(p.string("rbd_name"));
    params.block_size = RPC_TRY(block_size_param(p, /*required=*/true));
    params.cluster_name = RPC_TRY(p.optional_string("cluster_name")).value_or("");
    params.uuid = RPC_TRY(p.optional_string("uuid")).value_or("");
    params.read_only = RPC_TRY(p.optional_bool("read_only")).value_or(false);
    params.io_timeout_ms = RPC_TRY(io_timeout(p));
    RPC_TRY(p.finish());
    if (params.pool_name.empty() || params.rbd_name.empty()) {
        return rpc::invalid_params("params.pool_name, params.rbd_name: expected non-empty strings");
    }
    if (params.block_size == 0) {
        return rpc::invalid_params("params.block_size: expected a block size");  // SPDK too
    }
    return params;
}

}  // namespace

void register_rbd_module(ModuleContext& context) {
    std::shared_ptr<RbdModule> module = RbdModule::create(context.control, make_librbd_api());
    BdevRegistry& bdevs = context.bdevs;

    context.methods.add(
        "bdev_rbd_register_cluster", [module](const nlohmann::json* json, rpc::Reply reply) {
            auto params = parse_cluster(json);
            if (!params) {
                reply(std::unexpected(std::move(params).error()));
                return;
            }
            std::string name = params->name;
            module->register_cluster(std::move(*params),
                                     [name, reply = std::move(reply)](Result<void> done) mutable {
                                         if (!done) {
                                             reply(rpc::operation_failed(done.error()));
                                             return;
                                         }
                                         reply(nlohmann::json(name));
                                     });
        });
    context.methods.add_sync("bdev_rbd_unregister_cluster",
                             [module](const nlohmann::json* json) -> rpc::RpcResult {
                                 rpc::Params p(json);
                                 const std::string name = RPC_TRY(p.string("name"));
                                 RPC_TRY(p.finish());
                                 if (auto done = module->unregister_cluster(name); !done) {
                                     return rpc::operation_failed(done.error());
                                 }
                                 return true;
                             });
    context.methods.add_sync("bdev_rbd_get_clusters_info",
                             [module](const nlohmann::json* json) -> rpc::RpcResult {
                                 rpc::Params p(json);
                                 const auto name = RPC_TRY(p.optional_string("name"));
                                 RPC_TRY(p.finish());
                                 auto info = module->clusters_info(name);
                                 if (!info) {
                                     return rpc::operation_failed(info.error());
                                 }
                                 return std::move(*info);
                             });
    context.methods.add(
        "bdev_rbd_create", [module, &bdevs](const nlohmann::json* json, rpc::Reply reply) {
            auto params = parse_create(json);
            if (!params) {
                reply(std::unexpected(std::move(params).error()));
                return;
            }
            if (!params->name.empty() && bdevs.find(params->name) != nullptr) {
                reply(rpc::operation_failed(
                    Error{EEXIST, fmt::format("bdev {} already exists", params->name)}));
                return;
            }
            module->create_bdev(
                std::move(*params),
                [&bdevs, reply = std::move(reply)](Result<std::shared_ptr<Bdev>> bdev) mutable {
                    reply(add_bdev(bdevs, std::move(bdev)));
                });
        });
    register_delete_method(context, "rbd");
    context.methods.add(
        "bdev_rbd_resize", [module, &bdevs](const nlohmann::json* json, rpc::Reply reply) {
            rpc::Params p(json);
            auto name = p.string("name");
            auto new_size = name ? p.u64("new_size") : std::unexpected(name.error());
            if (auto finished = p.finish(); !new_size || !finished) {
                reply(std::unexpected(!new_size ? new_size.error() : finished.error()));
                return;
            }
            auto bdev = find_bdev(bdevs, *name);
            if (!bdev) {
                reply(std::unexpected(std::move(bdev).error()));
                return;
            }
            module->resize_bdev(**bdev, *new_size,
                                [reply = std::move(reply)](Result<void> done) mutable {
                                    if (!done) {
                                        reply(rpc::operation_failed(done.error()));
                                        return;
                                    }
                                    reply(true);
                                });
        });
    // save_config: the clusters before any bdev that names one.
    bdevs.add_config_prelude([weak = std::weak_ptr<RbdModule>(module)] {
        auto alive = weak.lock();
        return alive ? alive->config_calls() : nlohmann::json::array();
    });
}

}  // namespace vhostd::block

// The bdev layer's RPC surface: what a backend module's RPC file gets (ModuleContext) and the
// helpers every module shares (adding a bdev, looking one up, bdev_<driver>_delete), plus the
// generic bdev methods (bdev_get_bdevs, bdev_get_iostat, bdev_set_qos_limit) and the "bdev"
// subsystem of save_config. Control reactor only.
#pragma once

#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "block/bdev.hpp"
#include "block/bdev_registry.hpp"
#include "reactor/reactor.hpp"
#include "rpc/config_registry.hpp"
#include "rpc/method_table.hpp"
#include "rpc/params.hpp"
#include "rpc/rpc_error.hpp"

namespace vhostd::block {

// What a backend module registers itself with (from app, once, before any config is loaded).
struct ModuleContext {
    rpc::MethodTable& methods;
    BdevRegistry& bdevs;
    reactor::Reactor& control;
};

// Registers bdev_get_bdevs, bdev_get_iostat, bdev_set_qos_limit and the "bdev" subsystem of
// save_config (every bdev's creation calls in registration order, then its QoS limits).
void register_bdev_methods(rpc::MethodTable& methods, rpc::ConfigRegistry& config,
                           BdevRegistry& bdevs);

// --- helpers for the modules' RPC files ---

// The error every method answers for an unknown bdev: -ENODEV "bdev NAME not found".
std::unexpected<rpc::RpcError> no_bdev(std::string_view name);
// The bdev named `name` (or with that UUID), or no_bdev(name).
std::expected<std::shared_ptr<Bdev>, rpc::RpcError> find_bdev(const BdevRegistry& bdevs,
                                                              std::string_view name);
// Registers a bdev a module created; the result is its name (what bdev_*_create returns).
rpc::RpcResult add_bdev(BdevRegistry& bdevs, Result<std::shared_ptr<Bdev>> bdev);
// bdev_<driver>_delete {"name"}: only a bdev of that driver, by name (not UUID), and never one
// somebody holds. `removed` runs on the bdev once it is unregistered (a stacked bdev lets go
// of its base).
void register_delete_method(ModuleContext& context, std::string driver,
                            std::function<void(Bdev&)> removed = {});
// The "block_size" parameter, as a 32-bit value; 0 when absent and not `required`.
std::expected<uint32_t, rpc::RpcError> block_size_param(rpc::Params& p, bool required);
// The metadata/DIF parameters SPDK accepts for RAM-like bdevs; vhostd supports the defaults.
std::expected<void, rpc::RpcError> refuse_metadata(rpc::Params& p);

// bdev_get_bdevs' object: {"name", "aliases", "product_name", "block_size", "num_blocks",
// "uuid", "assigned_rate_limits", "claimed", "zoned", "supported_io_types",
// "driver_specific", ...}.
nlohmann::json describe_bdev(const BdevRegistry& bdevs, const Bdev& bdev);

}  // namespace vhostd::block

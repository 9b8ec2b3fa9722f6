// The NBD client module's methods: bdev_nbd_client_create {"name", "uri", "block_size",
// "connections", "io_timeout_ms", "uuid"} answers the new bdev's name once the server has been
// reached (or the reason it could not be, within io_timeout_ms); bdev_nbd_client_delete
// {"name"}.
#include <limits>

#include "block/backends/nbd/nbd_bdev.hpp"
#include "block/bdev_rpc.hpp"

namespace vhostd::block {
namespace {

std::expected<NbdParams, rpc::RpcError> parse(const nlohmann::json* json) {
    rpc::Params p(json);
    NbdParams params;
    params.name = RPC_TRY(p.string("name"));
    params.uri = RPC_TRY(p.string("uri"));
    const uint64_t block_size = RPC_TRY(p.optional_u64("block_size")).value_or(0);
    const uint64_t connections = RPC_TRY(p.optional_u64("connections")).value_or(0);
    const uint64_t timeout = RPC_TRY(p.optional_u64("io_timeout_ms")).value_or(30'000);
    params.uuid = RPC_TRY(p.optional_string("uuid")).value_or("");
    RPC_TRY(p.finish());
    if (block_size != 0 && block_size != 512 && block_size != 1024 && block_size != 2048 &&
        block_size != 4096) {
        return rpc::invalid_params("params.block_size: expected 512, 1024, 2048 or 4096");
    }
    if (connections > 1024) {
        return rpc::invalid_params("params.connections: expected 0 (one per reactor) to 1024");
    }
    if (timeout == 0 || timeout > 3'600'000) {
        return rpc::invalid_params("params.io_timeout_ms: expected 1 to 3600000");
    }
    if (!params.uri.starts_with("nbd://") && !params.uri.starts_with("nbds://") &&
        !params.uri.starts_with("nbd+unix://") && !params.uri.starts_with("nbds+unix://")) {
        return rpc::invalid_params(
            "params.uri: expected nbd://, nbds://, nbd+unix:// or nbds+unix://");
    }
    params.block_size = static_cast<uint32_t>(block_size);
    params.connections = static_cast<uint32_t>(connections);
    params.io_timeout_ms = static_cast<uint32_t>(timeout);
    return params;
}

}  // namespace

void register_nbd_module(ModuleContext& context) {
    BdevRegistry& bdevs = context.bdevs;
    reactor::Reactor& control = context.control;
    context.methods.add(
        "bdev_nbd_client_create", [&bdevs, &control](const nlohmann::json* json, rpc::Reply reply) {
            auto params = parse(json);
            if (!params) {
                reply(std::unexpected(std::move(params).error()));
                return;
            }
            if (bdevs.find(params->name) != nullptr) {
                reply(rpc::operation_failed(
                    Error{EEXIST, fmt::format("bdev {} already exists", params->name)}));
                return;
            }
            bdev_nbd_client_create(
                control, std::move(*params),
                [&bdevs, reply = std::move(reply)](Result<std::shared_ptr<Bdev>> bdev) mutable {
                    reply(add_bdev(bdevs, std::move(bdev)));
                });
        });
    register_delete_method(context, "nbd_client");
}

}  // namespace vhostd::block

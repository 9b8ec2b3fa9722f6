// Resizing bdevs at runtime, with SPDK's methods: bdev_null_resize {"name", "new_size" (MiB)}
// and bdev_uring_rescan {"name"} (re-read the file's size). Both return true. A controller
// using the bdev hears of the change (a SCSI target raises CAPACITY DATA HAS CHANGED).
#include "block/null/null_bdev.hpp"
#include "block/uring/uring_bdev.hpp"
#include "rpc/bdev_json.hpp"
#include "rpc/params.hpp"
#include "rpc/service.hpp"

namespace vhostd::rpc {
namespace {

RpcResult bdev_null_resize(Service& service, const nlohmann::json* json) {
    Params p(json);
    const std::string name = RPC_TRY(p.string("name"));
    const uint64_t new_size_mib = RPC_TRY(p.u64("new_size"));
    RPC_TRY(p.finish());
    auto bdev = RPC_TRY(find_bdev(service, name));
    if (auto resized = block::bdev_null_resize(*bdev, new_size_mib); !resized) {
        return operation_failed(resized.error());
    }
    return true;
}

RpcResult bdev_uring_rescan(Service& service, const nlohmann::json* json) {
    Params p(json);
    const std::string name = RPC_TRY(p.string("name"));
    RPC_TRY(p.finish());
    auto bdev = RPC_TRY(find_bdev(service, name));
    // As SPDK: a bdev nobody has open may shrink; one a controller holds may only grow.
    const bool may_shrink = service.bdevs.claimed_by(bdev->name()) == nullptr;
    if (auto rescanned = block::bdev_uring_rescan(*bdev, may_shrink); !rescanned) {
        return operation_failed(rescanned.error());
    }
    return true;
}

}  // namespace

void register_bdev_resize_methods(MethodTable& table, Service& service) {
    table.add_sync("bdev_null_resize",
                   [&service](const nlohmann::json* p) { return bdev_null_resize(service, p); });
    table.add_sync("bdev_uring_rescan",
                   [&service](const nlohmann::json* p) { return bdev_uring_rescan(service, p); });
}

}  // namespace vhostd::rpc

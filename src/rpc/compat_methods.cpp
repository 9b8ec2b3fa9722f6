// SPDK methods that tune SPDK internals vhostd does not have (buffer pools, accel, sockets,
// schedulers). Configs saved by SPDK contain them, so they are accepted and logged.
#include <array>

#include "base/log.hpp"
#include "rpc/config_registry.hpp"

namespace vhostd::rpc {

void register_compat_methods(MethodTable& table) {
    static constexpr std::array kIgnored = {
        "bdev_set_options",      "bdev_wait_for_examine",   "bdev_examine",
        "iobuf_set_options",     "accel_set_options",       "sock_set_default_impl",
        "sock_impl_set_options", "framework_set_scheduler", "vmd_enable",
        "bdev_nvme_set_options", "bdev_nvme_set_hotplug",   "bdev_iscsi_set_options",
    };
    for (const char* name : kIgnored) {
        table.add_sync(name, [name](const nlohmann::json*) -> RpcResult {
            LOG_INFO(rpc, "{}: SPDK tuning method, no effect in vhostd", name);
            return true;
        });
    }
}

}  // namespace vhostd::rpc

// RadosCluster: connection parameters and the disconnect on a worker.
#include "block/backends/rbd/rados_cluster.hpp"

#include <algorithm>

namespace vhostd::block {

uint32_t rados_timeout_s(uint32_t timeout_ms) {
    return std::max<uint32_t>(1, timeout_ms / 1000);
}

RadosConfig RbdClusterParams::rados_config() const {
    return RadosConfig{.user_id = user_id,
                       .config_file = config_file,
                       .read_config_file = true,
                       .key_file = key_file,
                       .config = config_param.value_or(CephOptions{}),
                       .timeout_s = rados_timeout_s(io_timeout_ms)};
}

nlohmann::json RbdClusterParams::to_json() const {
    nlohmann::json out = {{"name", name}};
    if (!user_id.empty()) {
        out["user_id"] = user_id;
    }
    if (config_param) {
        nlohmann::json entries = nlohmann::json::object();
        for (const auto& [key, value] : *config_param) {
            entries[key] = value;
        }
        out["config_param"] = std::move(entries);
    }
    if (!config_file.empty()) {
        out["config_file"] = config_file;
    }
    if (!key_file.empty()) {
        out["key_file"] = key_file;
    }
    if (!core_mask.empty()) {
        out["core_mask"] = core_mask;
    }
    out["io_timeout_ms"] = io_timeout_ms;
    return out;
}

RadosCluster::~RadosCluster() {
    if (connection_ == nullptr) {
        return;
    }
    // rados_shutdown waits for librados' threads; with the monitors gone it may take until
    // librados' timeouts. Never on the control reactor.
    context_->workers.run(
        [api = context_->api, connection = connection_] { api->disconnect(connection); }, [] {});
}

}  // namespace vhostd::block

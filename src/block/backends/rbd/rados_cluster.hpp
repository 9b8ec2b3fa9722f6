// RadosCluster: one connection to a Ceph cluster (a rados_t), shared by every RBD bdev that
// names it (SPDK's bdev_rbd_register_cluster), or private to one bdev created without a
// cluster_name. Owned on the control reactor; disconnected on a worker thread once its last
// user (the registry entry, or a bdev whose image is closed) lets go.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "block/backends/rbd/rbd_api.hpp"
#include "block/backends/rbd/rbd_workers.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::block {

// What the backend's objects share: the library, the worker threads, the control reactor.
// Held (shared_ptr) only by objects that live on the control reactor, so that its end (joining
// the workers) happens there.
struct RbdContext {
    RbdContext(reactor::Reactor& control_reactor, std::shared_ptr<RbdApi> library)
        : control(control_reactor), api(std::move(library)), workers(control_reactor) {}
    reactor::Reactor& control;
    std::shared_ptr<RbdApi> api;
    RbdWorkers workers;
};

// Ceph config entries as SPDK's "config_param" / "config" objects carry them.
using CephOptions = std::vector<std::pair<std::string, std::string>>;

// SPDK's bdev_rbd_register_cluster parameters (core_mask is kept for save_config and ignored:
// librados' threads are not pinned), plus vhostd's io_timeout_ms, which becomes librados'
// connect and operation timeouts for this connection.
struct RbdClusterParams {
    std::string name;
    std::string user_id;
    std::optional<CephOptions> config_param;
    std::string config_file;
    std::string key_file;
    std::string core_mask;
    uint32_t io_timeout_ms = 30'000;

    [[nodiscard]] RadosConfig rados_config() const;
    // The parameters as bdev_rbd_register_cluster takes them (and get_clusters_info shows
    // them: "cluster_name" there, "name" here).
    [[nodiscard]] nlohmann::json to_json() const;
};

// librados' timeouts are whole seconds: the largest that fits in `timeout_ms`, at least 1.
uint32_t rados_timeout_s(uint32_t timeout_ms);

class RadosCluster {
  public:
    RadosCluster(std::shared_ptr<RbdContext> context, RbdClusterParams params,
                 RadosConnection* connection)
        : context_(std::move(context)), params_(std::move(params)), connection_(connection) {}
    ~RadosCluster();  // disconnects on a worker thread
    RadosCluster(const RadosCluster&) = delete;
    RadosCluster& operator=(const RadosCluster&) = delete;

    [[nodiscard]] const RbdClusterParams& params() const { return params_; }
    [[nodiscard]] RadosConnection* connection() const { return connection_; }

    // Bdevs that use this connection (open, opening or closing); control reactor.
    uint32_t users = 0;

  private:
    std::shared_ptr<RbdContext> context_;
    RbdClusterParams params_;
    RadosConnection* connection_;
};

}  // namespace vhostd::block

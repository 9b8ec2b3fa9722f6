// The Ceph RBD backend module (SPDK's bdev_rbd): registered cluster connections and RBD
// bdevs. Everything that may block on the cluster (connecting, opening, resizing, closing)
// runs on worker threads and answers on the control reactor within the caller's timeout; the
// I/O path is RbdChannel's. Control reactor only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "block/backends/rbd/rados_cluster.hpp"
#include "block/backends/rbd/rbd_api.hpp"
#include "block/bdev.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::block {

struct ModuleContext;  // block/bdev_rpc.hpp

// Registers the bdev_rbd_* methods and the clusters' part of save_config (rbd_rpc.cpp).
void register_rbd_module(ModuleContext& context);

// SPDK's bdev_rbd_create parameters, plus vhostd's io_timeout_ms.
struct RbdParams {
    std::string name;  // empty: "Ceph<N>", as SPDK
    std::string user_id;
    std::string pool_name;
    std::string rbd_name;
    uint32_t block_size = 512;
    std::optional<CephOptions> config;  // only these options, no config file (SPDK)
    std::string cluster_name;           // a registered cluster; empty: a connection of its own
    std::string uuid;
    bool read_only = false;
    uint32_t io_timeout_ms = 30'000;
};

class RbdModule : public std::enable_shared_from_this<RbdModule> {
  public:
    static std::shared_ptr<RbdModule> create(reactor::Reactor& control,
                                             std::shared_ptr<RbdApi> api);
    // Joins the worker threads (each bounded by librados' timeouts).
    ~RbdModule();
    RbdModule(const RbdModule&) = delete;
    RbdModule& operator=(const RbdModule&) = delete;

    template <class T>
    using Done = std::move_only_function<void(Result<T>)>;

    // Connects (on a worker) and registers the cluster; `done` within params.io_timeout_ms.
    void register_cluster(RbdClusterParams params, Done<void> done);
    // Refused (EBUSY) while a bdev uses the cluster.
    Result<void> unregister_cluster(std::string_view name);
    // SPDK's bdev_rbd_get_clusters_info: one cluster's object, or an array of all; ENOENT when
    // the name is unknown or there is none (as SPDK).
    [[nodiscard]] Result<nlohmann::json> clusters_info(
        const std::optional<std::string>& name) const;
    // bdev_rbd_register_cluster calls for every registered cluster (save_config, before bdevs).
    [[nodiscard]] nlohmann::json config_calls() const;

    // Opens the image (connecting first unless params.cluster_name names a registered
    // cluster) and creates the bdev; `done` within params.io_timeout_ms, with the bdev or a
    // clear error. The bdev is not registered: the caller adds it.
    void create_bdev(RbdParams params, Done<std::shared_ptr<Bdev>> done);
    // SPDK's bdev_rbd_resize: grows the image to `new_size_mib` MiB (never shrinks) and the
    // bdev with it.
    void resize_bdev(Bdev& bdev, uint64_t new_size_mib, Done<void> done);

    [[nodiscard]] const std::shared_ptr<RbdContext>& context() const { return context_; }

  private:
    RbdModule(reactor::Reactor& control, std::shared_ptr<RbdApi> api);

    std::shared_ptr<RbdContext> context_;
    std::map<std::string, std::shared_ptr<RadosCluster>, std::less<>> clusters_;
    std::set<std::string, std::less<>> connecting_;  // names being registered
    uint64_t next_default_name_ = 0;
};

// The RBD backend behind `bdev`, or nullptr if it is not an RBD bdev.
[[nodiscard]] bool is_rbd_bdev(Bdev& bdev);

}  // namespace vhostd::block

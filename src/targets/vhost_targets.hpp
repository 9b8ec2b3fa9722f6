// VhostTargets: the vhost controllers of the process, by name (SPDK's vhost subsystem).
// Creating a controller claims its bdev and opens SOCKET_DIR/ctrlr; deleting one is refused
// while a frontend is attached. Control reactor only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/cpu_mask.hpp"
#include "block/bdev_registry.hpp"
#include "block/resize_subscription.hpp"
#include "reactor/reactor_group.hpp"
#include "targets/vhost_controller.hpp"

namespace vhostd::targets {

// Parameters of vhost_create_blk_controller, named as in SPDK's RPC.
struct BlkControllerParams {
    std::string ctrlr;
    std::string dev_name;
    std::string cpumask;  // empty: every reactor
    bool readonly = false;
    bool packed_ring = false;
};

// Parameters of vhost_create_scsi_controller, named as in SPDK's RPC.
struct ScsiControllerParams {
    std::string ctrlr;
    std::string cpumask;  // empty: every reactor
};

class ScsiTargetSet;  // targets/scsi_target_set.hpp

// 1-64 characters, no '/' or leading '.': the name is a file name under the socket directory.
Result<void> check_controller_name(std::string_view name);

// What kind of device a controller serves, and on which bdev (for listings and save_config).
struct ControllerInfo {
    std::string type;  // "blk", "scsi"
    std::string bdev_name;
    bool readonly = false;
    bool packed_ring = false;
    std::shared_ptr<ScsiTargetSet> scsi;  // "scsi": its targets
};

class VhostTargets {
  public:
    VhostTargets(reactor::Reactor& control, reactor::ReactorGroup& reactors,
                 block::BdevRegistry& bdevs, std::string socket_dir);
    ~VhostTargets();

    Result<VhostController*> create_blk_controller(const BlkControllerParams& params);
    // virtio-scsi (targets/scsi_targets.cpp): a controller with no targets yet; targets are
    // added (scsi_target_num < 0: the lowest free one; returns the number) and removed at
    // runtime, with hot-plug events to a connected driver.
    Result<VhostController*> create_scsi_controller(const ScsiControllerParams& params);
    Result<uint32_t> scsi_add_target(std::string_view ctrlr, int64_t scsi_target_num,
                                     std::string_view bdev_name);
    void scsi_remove_target(std::string_view ctrlr, uint32_t scsi_target_num,
                            std::move_only_function<void(Result<void>)> done);
    // Stops the controller's queues and removes it; refused while a frontend is attached.
    void delete_controller(std::string_view name, std::move_only_function<void(Result<void>)> done);
    // Shuts every controller down (SIGTERM): stop accepting, drain, remove sockets.
    void shutdown_all(std::move_only_function<void()> done);

    struct Entry {
        std::unique_ptr<VhostController> controller;
        ControllerInfo info;
        // blk: the bdev's resizes reach the device's capacity and the frontend. Declared
        // after `controller`, so it is dropped first.
        block::ResizeSubscription resize;
    };
    [[nodiscard]] const std::vector<Entry>& controllers() const { return entries_; }
    [[nodiscard]] const Entry* find(std::string_view name) const;
    [[nodiscard]] const std::string& socket_dir() const { return socket_dir_; }

  private:
    Result<CpuMask> controller_cpumask(std::string_view text) const;

    reactor::Reactor& control_;
    reactor::ReactorGroup& reactors_;
    block::BdevRegistry& bdevs_;
    std::string socket_dir_;
    std::vector<Entry> entries_;
};

}  // namespace vhostd::targets

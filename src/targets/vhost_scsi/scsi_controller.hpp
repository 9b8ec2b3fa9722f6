// ScsiController: a vhost-user-scsi controller (SPDK's vhost_create_scsi_controller): a
// virtio-scsi device whose targets (LUN 0 each, over a claimed bdev) are added and removed at
// runtime, with hot-plug events to a connected driver.
#pragma once

#include <memory>
#include <string>

#include "controller/controller_rpc.hpp"
#include "devices/virtio_scsi/scsi_device.hpp"
#include "targets/vhost/vhost_controller.hpp"
#include "targets/vhost_scsi/scsi_target_set.hpp"

namespace vhostd::targets {

// Parameters of vhost_create_scsi_controller, named as in SPDK's RPC.
struct ScsiControllerParams {
    std::string ctrlr;
    std::string cpumask;       // empty: every reactor
    bool packed_ring = false;  // offer packed virtqueues (VIRTIO_F_RING_PACKED)
};

class ScsiController final : public VhostController {
  public:
    static Result<std::unique_ptr<ScsiController>> create(const ScsiControllerParams& params,
                                                          controller::ControllerContext& context);
    ~ScsiController() override;

    [[nodiscard]] std::string_view kind() const override { return "vhost_scsi"; }
    void release() override;

    [[nodiscard]] ScsiTargetSet& targets() { return *targets_; }

  private:
    ScsiController(VhostControllerConfig config, std::shared_ptr<virtio_scsi::ScsiDevice> device,
                   controller::ControllerContext& context, std::vector<reactor::Reactor*> reactors,
                   bool packed_ring);
    [[nodiscard]] nlohmann::json backend_specific() const override;
    [[nodiscard]] nlohmann::json create_calls() const override;

    std::shared_ptr<ScsiTargetSet> targets_;
    bool packed_ring_;
};

// Registers vhost_create_scsi_controller, vhost_scsi_controller_add_target,
// vhost_scsi_controller_remove_target and the "vhost_scsi" subsystem; once, from app.
void register_vhost_scsi(controller::ControllerContext& context);

}  // namespace vhostd::targets

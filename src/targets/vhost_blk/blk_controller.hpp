// BlkController: a vhost-user-blk controller (SPDK's vhost_create_blk_controller): a
// virtio-blk device over one bdev it claims, served on the vhost-user socket. A resized bdev
// becomes a new capacity the frontend is told about; a failed or removed bdev's requests fail
// with IOERR (the bdev layer answers them).
#pragma once

#include <memory>
#include <string>

#include "block/bdev_registry.hpp"
#include "block/bdev_subscription.hpp"
#include "controller/controller_rpc.hpp"
#include "devices/virtio_blk/blk_device.hpp"
#include "targets/vhost/vhost_controller.hpp"

namespace vhostd::targets {

// Parameters of vhost_create_blk_controller, named as in SPDK's RPC.
struct BlkControllerParams {
    std::string ctrlr;
    std::string dev_name;
    std::string cpumask;  // empty: every reactor
    bool readonly = false;
    bool packed_ring = false;  // offer packed virtqueues (VIRTIO_F_RING_PACKED)
};

class BlkController final : public VhostController {
  public:
    // Claims the bdev, creates the device and opens the socket.
    static Result<std::unique_ptr<BlkController>> create(const BlkControllerParams& params,
                                                         controller::ControllerContext& context);
    ~BlkController() override;

    [[nodiscard]] std::string_view kind() const override { return "vhost_blk"; }
    void release() override;

  private:
    BlkController(VhostControllerConfig config, std::shared_ptr<virtio_blk::BlkDevice> device,
                  controller::ControllerContext& context, std::vector<reactor::Reactor*> reactors,
                  std::shared_ptr<block::Bdev> bdev, bool readonly, bool packed_ring);
    [[nodiscard]] nlohmann::json backend_specific() const override;
    [[nodiscard]] nlohmann::json create_calls() const override;
    void on_bdev_event(block::BdevEvent event);

    std::shared_ptr<virtio_blk::BlkDevice> blk_;
    std::shared_ptr<block::Bdev> bdev_;
    block::BdevRegistry& bdevs_;
    bool readonly_;
    bool packed_ring_;
    bool claimed_ = false;
    block::BdevSubscription events_;  // dropped before the members it uses
};

// Registers vhost_create_blk_controller and the "vhost_blk" subsystem; called once from app.
void register_vhost_blk(controller::ControllerContext& context);

}  // namespace vhostd::targets

// BlkController: creation, bdev claim and events, listing and saving.
#include "targets/vhost_blk/blk_controller.hpp"

#include "base/log.hpp"
#include "targets/vhost/vhost_rpc.hpp"

namespace vhostd::targets {
namespace {

std::string holder_name(std::string_view ctrlr) {
    return fmt::format("vhost controller {}", ctrlr);
}

}  // namespace

Result<std::unique_ptr<BlkController>> BlkController::create(
    const BlkControllerParams& params, controller::ControllerContext& context) {
    VHOSTD_TRY(controller::check_controller_name(params.ctrlr));
    if (context.controllers.find(params.ctrlr) != nullptr) {
        return make_error(EEXIST, "vhost controller {} already exists", params.ctrlr);
    }
    std::shared_ptr<block::Bdev> bdev = context.bdevs.find(params.dev_name);
    if (!bdev) {
        return make_error(ENODEV, "bdev {} not found", params.dev_name);
    }
    const CpuMask cpumask =
        VHOSTD_TRY(controller::controller_cpumask(context.reactors, params.cpumask));
    std::vector<reactor::Reactor*> reactors = context.reactors.select(cpumask);
    if (reactors.empty()) {
        return make_error(EINVAL, "controller {}: cpumask {} selects no reactor", params.ctrlr,
                          cpumask.to_string());
    }
    VHOSTD_TRY(context.bdevs.claim(bdev->name(), holder_name(params.ctrlr)));
    auto device = std::make_shared<virtio_blk::BlkDevice>(
        bdev, virtio_blk::BlkDeviceOptions{.read_only = params.readonly,
                                           .packed_ring = params.packed_ring});
    std::unique_ptr<BlkController> controller(
        new BlkController(vhost_config(context, params.ctrlr, cpumask), device, context,
                          std::move(reactors), bdev, params.readonly, params.packed_ring));
    controller->claimed_ = true;
    VHOSTD_TRY(controller->listen());  // a failure releases the claim in the destructor
    LOG_INFO(target, "vhost-user-blk controller {} on bdev {} ({} blocks of {} bytes{}{}) at {}",
             params.ctrlr, bdev->name(), bdev->num_blocks(), bdev->block_size(),
             params.readonly ? ", read-only" : "", params.packed_ring ? ", packed ring" : "",
             controller->socket_path());
    return controller;
}

BlkController::BlkController(VhostControllerConfig config,
                             std::shared_ptr<virtio_blk::BlkDevice> device,
                             controller::ControllerContext& context,
                             std::vector<reactor::Reactor*> reactors,
                             std::shared_ptr<block::Bdev> bdev, bool readonly, bool packed_ring)
    : VhostController(std::move(config), device, context.control, std::move(reactors)),
      blk_(std::move(device)),
      bdev_(bdev),
      bdevs_(context.bdevs),
      readonly_(readonly),
      packed_ring_(packed_ring),
      events_(std::move(bdev), [this](block::Bdev&, block::BdevEvent e) { on_bdev_event(e); }) {}

BlkController::~BlkController() {
    release();
}

void BlkController::release() {
    events_.reset();
    if (claimed_) {
        (void)bdevs_.release(bdev_->name(), holder_name(name()));
        claimed_ = false;
    }
}

void BlkController::on_bdev_event(block::BdevEvent event) {
    switch (event) {
        case block::BdevEvent::resized:
            // virtio 5.2.4 capacity / vhost-user CONFIG_CHANGE_MSG: a resized bdev is a new
            // capacity the driver is told about (QEMU then notifies the guest).
            if (blk_->refresh_capacity()) {
                notify_config_changed();
            }
            return;
        case block::BdevEvent::failed:
        case block::BdevEvent::removed:
            // virtio-blk has no removal event: every request now gets VIRTIO_BLK_S_IOERR from
            // the bdev layer, until the bdev recovers (failed) or for good (removed).
            LOG_WARN(target, "{}: bdev {} {}; its requests fail with IOERR", name(), bdev_->name(),
                     block::to_string(event));
            return;
        case block::BdevEvent::recovered:
            LOG_INFO(target, "{}: bdev {} serves I/O again", name(), bdev_->name());
            return;
    }
}

nlohmann::json BlkController::backend_specific() const {
    // SPDK's object exactly (packed_ring shows in save_config, as in SPDK).
    return {{"block",
             {{"readonly", readonly_}, {"bdev", bdev_->name()}, {"transport", "vhost_user_blk"}}}};
}

nlohmann::json BlkController::create_calls() const {
    nlohmann::json params = {
        {"ctrlr", name()}, {"dev_name", bdev_->name()}, {"cpumask", cpumask().to_string()}};
    if (readonly_) {
        params["readonly"] = true;
    }
    if (packed_ring_) {
        params["packed_ring"] = true;
    }
    nlohmann::json calls = nlohmann::json::array();
    calls.push_back({{"method", "vhost_create_blk_controller"}, {"params", std::move(params)}});
    return calls;
}

}  // namespace vhostd::targets

// ScsiController: creation, listing and saving with its targets.
#include "targets/vhost_scsi/scsi_controller.hpp"

#include <fmt/format.h>

#include "base/log.hpp"
#include "targets/vhost/vhost_rpc.hpp"

namespace vhostd::targets {

Result<std::unique_ptr<ScsiController>> ScsiController::create(
    const ScsiControllerParams& params, controller::ControllerContext& context) {
    VHOSTD_TRY(controller::check_controller_name(params.ctrlr));
    if (context.controllers.find(params.ctrlr) != nullptr) {
        return make_error(EEXIST, "vhost controller {} already exists", params.ctrlr);
    }
    const CpuMask cpumask =
        VHOSTD_TRY(controller::controller_cpumask(context.reactors, params.cpumask));
    std::vector<reactor::Reactor*> reactors = context.reactors.select(cpumask);
    if (reactors.empty()) {
        return make_error(EINVAL, "controller {}: cpumask {} selects no reactor", params.ctrlr,
                          cpumask.to_string());
    }
    auto device = std::make_shared<virtio_scsi::ScsiDevice>(
        context.control, reactors,
        virtio_scsi::ScsiDeviceOptions{.packed_ring = params.packed_ring});
    std::unique_ptr<ScsiController> controller(
        new ScsiController(vhost_config(context, params.ctrlr, cpumask), std::move(device), context,
                           std::move(reactors), params.packed_ring));
    VHOSTD_TRY(controller->listen());
    LOG_INFO(target, "vhost-user-scsi controller {}{} at {}", params.ctrlr,
             params.packed_ring ? " (packed ring)" : "", controller->socket_path());
    return controller;
}

ScsiController::ScsiController(VhostControllerConfig config,
                               std::shared_ptr<virtio_scsi::ScsiDevice> device,
                               controller::ControllerContext& context,
                               std::vector<reactor::Reactor*> reactors, bool packed_ring)
    : VhostController(std::move(config), device, context.control, std::move(reactors)),
      targets_(std::make_shared<ScsiTargetSet>(name(), std::move(device), context.bdevs)),
      packed_ring_(packed_ring) {}

ScsiController::~ScsiController() {
    release();
}

void ScsiController::release() {
    targets_->release_all();
}

nlohmann::json ScsiController::backend_specific() const {
    // SPDK's listing: one entry per target with its LUN 0.
    nlohmann::json targets = nlohmann::json::array();
    for (const ScsiTargetInfo& t : targets_->targets()) {
        targets.push_back({{"scsi_dev_num", t.id},
                           {"id", t.id},
                           {"target_name", fmt::format("Target {}", t.id)},
                           {"luns", {{{"id", 0}, {"bdev_name", t.bdev_name}}}}});
    }
    return {{"scsi", std::move(targets)}};
}

nlohmann::json ScsiController::create_calls() const {
    nlohmann::json calls = nlohmann::json::array();
    nlohmann::json params = {{"ctrlr", name()}, {"cpumask", cpumask().to_string()}};
    if (packed_ring_) {
        params["packed_ring"] = true;
    }
    calls.push_back({{"method", "vhost_create_scsi_controller"}, {"params", std::move(params)}});
    for (const ScsiTargetInfo& t : targets_->targets()) {
        calls.push_back(
            {{"method", "vhost_scsi_controller_add_target"},
             {"params",
              {{"ctrlr", name()}, {"scsi_target_num", t.id}, {"bdev_name", t.bdev_name}}}});
    }
    return calls;
}

}  // namespace vhostd::targets

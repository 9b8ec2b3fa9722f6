// VhostTargets' virtio-scsi part: creating vhost-user-scsi controllers and hot-plugging their
// targets (SPDK's vhost_create_scsi_controller / vhost_scsi_controller_add_target /
// vhost_scsi_controller_remove_target).
#include "base/log.hpp"
#include "devices/virtio_scsi/scsi_device.hpp"
#include "targets/scsi_target_set.hpp"
#include "targets/vhost_targets.hpp"

namespace vhostd::targets {
namespace {

ScsiTargetSet* scsi_targets_of(const VhostTargets::Entry* entry) {
    return entry != nullptr ? entry->info.scsi.get() : nullptr;
}

Result<ScsiTargetSet*> find_scsi(const VhostTargets& targets, std::string_view ctrlr) {
    const VhostTargets::Entry* entry = targets.find(ctrlr);
    if (entry == nullptr) {
        return make_error(ENODEV, "vhost controller {} not found", ctrlr);
    }
    ScsiTargetSet* set = scsi_targets_of(entry);
    if (set == nullptr) {
        return make_error(EINVAL, "vhost controller {} is not a SCSI controller", ctrlr);
    }
    return set;
}

}  // namespace

Result<VhostController*> VhostTargets::create_scsi_controller(const ScsiControllerParams& params) {
    VHOSTD_TRY(check_controller_name(params.ctrlr));
    if (find(params.ctrlr) != nullptr) {
        return make_error(EEXIST, "vhost controller {} already exists", params.ctrlr);
    }
    const CpuMask cpumask = VHOSTD_TRY(controller_cpumask(params.cpumask));
    std::vector<reactor::Reactor*> reactors = reactors_.select(cpumask);
    if (reactors.empty()) {
        return make_error(EINVAL, "controller {}: cpumask {} selects no reactor", params.ctrlr,
                          cpumask.to_string());
    }
    auto device = std::make_shared<virtio_scsi::ScsiDevice>(control_, reactors,
                                                            virtio_scsi::ScsiDeviceOptions{});
    std::unique_ptr<VhostController> controller = VHOSTD_TRY(VhostController::create(
        ControllerConfig{params.ctrlr, socket_dir_ + "/" + params.ctrlr, cpumask}, device, control_,
        std::move(reactors)));
    LOG_INFO(target, "vhost-user-scsi controller {} at {}", params.ctrlr,
             controller->socket_path());
    ControllerInfo info{.type = "scsi"};
    info.scsi = std::make_shared<ScsiTargetSet>(params.ctrlr, std::move(device));
    entries_.push_back(Entry{std::move(controller), std::move(info)});
    return entries_.back().controller.get();
}

Result<uint32_t> VhostTargets::scsi_add_target(std::string_view ctrlr, int64_t scsi_target_num,
                                               std::string_view bdev_name) {
    ScsiTargetSet* set = VHOSTD_TRY(find_scsi(*this, ctrlr));
    return set->add(scsi_target_num, bdev_name, bdevs_);
}

void VhostTargets::scsi_remove_target(std::string_view ctrlr, uint32_t scsi_target_num,
                                      std::move_only_function<void(Result<void>)> done) {
    auto set = find_scsi(*this, ctrlr);
    if (!set) {
        done(std::unexpected(set.error()));
        return;
    }
    auto shared_done =
        std::make_shared<std::move_only_function<void(Result<void>)>>(std::move(done));
    auto removed = (*set)->remove(scsi_target_num, bdevs_, [shared_done] { (*shared_done)({}); });
    if (!removed) {
        (*shared_done)(std::unexpected(removed.error()));
    }
}

}  // namespace vhostd::targets

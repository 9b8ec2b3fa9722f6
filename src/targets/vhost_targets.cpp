// VhostTargets: controller creation, deletion and orderly shutdown.
#include "targets/vhost_targets.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "devices/virtio_blk/blk_device.hpp"
#include "targets/scsi_target_set.hpp"

namespace vhostd::targets {
namespace {

std::string holder_name(std::string_view ctrlr) {
    return fmt::format("vhost controller {}", ctrlr);
}

}  // namespace

// SPDK uses the controller name as a file name under the socket directory.
Result<void> check_controller_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || name.front() == '.' ||
        name.find_first_of("/\\") != std::string_view::npos) {
        return make_error(
            EINVAL, "invalid controller name '{}': 1-64 characters, no '/' or leading '.'", name);
    }
    return {};
}

VhostTargets::VhostTargets(reactor::Reactor& control, reactor::ReactorGroup& reactors,
                           block::BdevRegistry& bdevs, std::string socket_dir)
    : control_(control), reactors_(reactors), bdevs_(bdevs), socket_dir_(std::move(socket_dir)) {}

VhostTargets::~VhostTargets() = default;

Result<CpuMask> VhostTargets::controller_cpumask(std::string_view text) const {
    if (text.empty()) {
        return reactors_.cpumask();
    }
    CpuMask mask = VHOSTD_TRY(CpuMask::parse(text));
    if (!mask.subset_of(reactors_.cpumask())) {
        return make_error(EINVAL, "cpumask {} is not within the reactor mask {}", mask.to_string(),
                          reactors_.cpumask().to_string());
    }
    return mask;
}

const VhostTargets::Entry* VhostTargets::find(std::string_view name) const {
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const Entry& e) { return e.controller->name() == name; });
    return it == entries_.end() ? nullptr : &*it;
}

Result<VhostController*> VhostTargets::create_blk_controller(const BlkControllerParams& params) {
    VHOSTD_TRY(check_controller_name(params.ctrlr));
    if (find(params.ctrlr) != nullptr) {
        return make_error(EEXIST, "vhost controller {} already exists", params.ctrlr);
    }
    if (params.packed_ring) {
        return make_error(ENOTSUP, "packed_ring is not supported yet");
    }
    std::shared_ptr<block::Bdev> bdev = bdevs_.find(params.dev_name);
    if (!bdev) {
        return make_error(ENODEV, "bdev {} not found", params.dev_name);
    }
    const CpuMask cpumask = VHOSTD_TRY(controller_cpumask(params.cpumask));
    VHOSTD_TRY(bdevs_.claim(bdev->name(), holder_name(params.ctrlr)));

    auto device = std::make_shared<virtio_blk::BlkDevice>(
        bdev, virtio_blk::BlkDeviceOptions{.read_only = params.readonly});
    auto controller = VhostController::create(
        ControllerConfig{params.ctrlr, socket_dir_ + "/" + params.ctrlr, cpumask}, device, control_,
        reactors_.select(cpumask));
    if (!controller) {
        (void)bdevs_.release(bdev->name(), holder_name(params.ctrlr));
        return std::unexpected(controller.error());
    }
    LOG_INFO(target, "vhost-user-blk controller {} on bdev {} ({} blocks of {} bytes{}) at {}",
             params.ctrlr, bdev->name(), bdev->num_blocks(), bdev->block_size(),
             params.readonly ? ", read-only" : "", (*controller)->socket_path());
    VhostController* created = controller->get();
    // virtio 5.2.4 capacity / vhost-user CONFIG_CHANGE_MSG: a resized bdev is a new capacity
    // the driver is told about (QEMU then notifies the guest of a config change).
    block::ResizeSubscription resize(bdev, [created, device](const block::Bdev&) {
        if (device->refresh_capacity()) {
            created->notify_config_changed();
        }
    });
    entries_.push_back(
        Entry{std::move(*controller),
              ControllerInfo{"blk", bdev->name(), params.readonly, params.packed_ring},
              std::move(resize)});
    return created;
}

void VhostTargets::delete_controller(std::string_view name,
                                     std::move_only_function<void(Result<void>)> done) {
    const Entry* entry = find(name);
    if (entry == nullptr) {
        done(make_error(ENODEV, "vhost controller {} not found", name));
        return;
    }
    if (entry->controller->connected()) {
        done(make_error(EBUSY, "vhost controller {} is in use by a connected frontend", name));
        return;
    }
    VhostController* controller = entry->controller.get();
    controller->shutdown([this, controller, done = std::move(done)]() mutable {
        auto it = std::find_if(entries_.begin(), entries_.end(),
                               [&](const Entry& e) { return e.controller.get() == controller; });
        if (it != entries_.end()) {
            (void)bdevs_.release(it->info.bdev_name, holder_name(it->controller->name()));
            if (it->info.scsi) {
                it->info.scsi->release_all(bdevs_);
            }
            entries_.erase(it);
        }
        done({});
    });
}

void VhostTargets::shutdown_all(std::move_only_function<void()> done) {
    if (entries_.empty()) {
        done();
        return;
    }
    auto remaining = std::make_shared<size_t>(entries_.size());
    auto shared_done = std::make_shared<std::move_only_function<void()>>(std::move(done));
    for (Entry& entry : entries_) {
        entry.controller->shutdown([remaining, shared_done] {
            if (--*remaining == 0) {
                (*shared_done)();
            }
        });
    }
}

}  // namespace vhostd::targets

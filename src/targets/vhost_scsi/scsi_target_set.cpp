// ScsiTargetSet: target numbers, bdev claims and hot-plug of a vhost-user-scsi controller.
#include "targets/vhost_scsi/scsi_target_set.hpp"

#include <algorithm>

#include "base/log.hpp"

namespace vhostd::targets {

std::string ScsiTargetSet::holder(uint32_t num) const {
    return fmt::format("vhost controller {} (SCSI target {})", ctrlr_, num);
}

Result<uint32_t> ScsiTargetSet::add(int64_t num, std::string_view bdev_name) {
    block::BdevRegistry& bdevs = bdevs_;
    if (num >= static_cast<int64_t>(virtio_scsi::kMaxTargets)) {
        return make_error(EINVAL, "SCSI target number {} out of range 0..{}", num,
                          virtio_scsi::kMaxTargets - 1);
    }
    uint8_t id = 0;
    if (num < 0) {
        const auto free = device_->first_free_target();
        if (!free) {
            return make_error(ENOSPC, "controller {} has no free SCSI target", ctrlr_);
        }
        id = *free;
    } else {
        id = static_cast<uint8_t>(num);
    }
    if (device_->has_target(id)) {
        return make_error(EEXIST, "controller {}: SCSI target {} {}", ctrlr_, id,
                          device_->removing(id) ? "is being removed" : "already exists");
    }
    std::shared_ptr<block::Bdev> bdev = bdevs.find(bdev_name);
    if (!bdev) {
        return make_error(ENODEV, "bdev {} not found", bdev_name);
    }
    VHOSTD_TRY(bdevs.claim(bdev->name(), holder(id)));
    if (auto added = device_->add_target(id, bdev); !added) {
        (void)bdevs.release(bdev->name(), holder(id));
        return std::unexpected(added.error());
    }
    // The subscription lives in targets_: the set outlives every call of its listener.
    ScsiTargetInfo info{id, bdev->name(),
                        block::BdevSubscription(bdev, [this, id](block::Bdev&, block::BdevEvent e) {
                            on_bdev_event(id, e);
                        })};
    auto at = std::upper_bound(targets_.begin(), targets_.end(), id,
                               [](uint32_t value, const auto& t) { return value < t.id; });
    targets_.insert(at, std::move(info));
    LOG_INFO(target, "{}: SCSI target {} on bdev {} ({} blocks of {} bytes)", ctrlr_, id,
             bdev->name(), bdev->num_blocks(), bdev->block_size());
    return id;
}

void ScsiTargetSet::on_bdev_event(uint8_t id, block::BdevEvent event) {
    switch (event) {
        case block::BdevEvent::resized:
            // SBC-3 4.10 / virtio 5.6.6.3.2: a unit attention and a PARAM_CHANGE event.
            (void)device_->notify_resized(id);
            return;
        case block::BdevEvent::removed:
            // The bdev is gone for good: unplug the target (virtio 5.6.6.3.1 TRANSPORT_RESET
            // REMOVED), as SPDK's vhost-scsi does on a hot-removed bdev.
            if (!device_->removing(id)) {
                LOG_WARN(target, "{}: bdev of SCSI target {} was removed; unplugging the target",
                         ctrlr_, id);
                (void)remove(id, [] {});
            }
            return;
        case block::BdevEvent::failed:
        case block::BdevEvent::recovered:
            // Commands meanwhile fail with the bdev layer's errors (MEDIUM ERROR sense).
            LOG_WARN(target, "{}: bdev of SCSI target {} {}", ctrlr_, id, block::to_string(event));
            return;
    }
}

Result<void> ScsiTargetSet::remove(uint32_t num, std::move_only_function<void()> done) {
    block::BdevRegistry& bdevs = bdevs_;
    if (num >= virtio_scsi::kMaxTargets || !device_->has_target(static_cast<uint8_t>(num))) {
        return make_error(ENODEV, "controller {} has no SCSI target {}", ctrlr_, num);
    }
    const auto id = static_cast<uint8_t>(num);
    std::string bdev_name = device_->target_bdev(id)->name();
    VHOSTD_TRY(device_->remove_target(
        id, [self = shared_from_this(), &bdevs, id, bdev_name, done = std::move(done)]() mutable {
            // Every queue has drained the target: the bdev may now go to someone else.
            (void)bdevs.release(bdev_name, self->holder(id));
            std::erase_if(self->targets_, [id](const ScsiTargetInfo& t) { return t.id == id; });
            LOG_INFO(target, "{}: SCSI target {} (bdev {}) removed", self->ctrlr_, id, bdev_name);
            done();
        }));
    return {};
}

void ScsiTargetSet::release_all() {
    for (const ScsiTargetInfo& t : targets_) {
        (void)bdevs_.release(t.bdev_name, holder(t.id));
    }
    targets_.clear();  // and with them the event subscriptions
}

}  // namespace vhostd::targets

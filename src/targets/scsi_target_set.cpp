// ScsiTargetSet: target numbers, bdev claims and hot-plug of a vhost-user-scsi controller.
#include "targets/scsi_target_set.hpp"

#include <algorithm>

#include "base/log.hpp"

namespace vhostd::targets {

std::string ScsiTargetSet::holder(uint32_t num) const {
    return fmt::format("vhost controller {} (SCSI target {})", ctrlr_, num);
}

Result<uint32_t> ScsiTargetSet::add(int64_t num, std::string_view bdev_name,
                                    block::BdevRegistry& bdevs) {
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
    // SBC-3 4.10 / virtio 5.6.6.3.2: the guest hears of a resize by unit attention and event.
    // The listener holds the set weakly: a controller deleted first simply stops hearing.
    const uint64_t listener =
        bdev->add_resize_listener([weak = weak_from_this(), id](const block::Bdev&) {
            if (auto self = weak.lock()) {
                (void)self->device_->notify_resized(id);
            }
        });
    const ScsiTargetInfo info{id, bdev->name(), bdev, listener};
    targets_.insert(std::upper_bound(targets_.begin(), targets_.end(), info,
                                     [](const auto& a, const auto& b) { return a.id < b.id; }),
                    info);
    LOG_INFO(target, "{}: SCSI target {} on bdev {} ({} blocks of {} bytes)", ctrlr_, id,
             bdev->name(), bdev->num_blocks(), bdev->block_size());
    return id;
}

Result<void> ScsiTargetSet::remove(uint32_t num, block::BdevRegistry& bdevs,
                                   std::move_only_function<void()> done) {
    if (num >= virtio_scsi::kMaxTargets || !device_->has_target(static_cast<uint8_t>(num))) {
        return make_error(ENODEV, "controller {} has no SCSI target {}", ctrlr_, num);
    }
    const auto id = static_cast<uint8_t>(num);
    std::string bdev_name = device_->target_bdev(id)->name();
    VHOSTD_TRY(device_->remove_target(
        id, [self = shared_from_this(), &bdevs, id, bdev_name, done = std::move(done)]() mutable {
            // Every queue has drained the target: the bdev may now go to someone else.
            (void)bdevs.release(bdev_name, self->holder(id));
            self->forget(id);
            LOG_INFO(target, "{}: SCSI target {} (bdev {}) removed", self->ctrlr_, id, bdev_name);
            done();
        }));
    return {};
}

void ScsiTargetSet::release_all(block::BdevRegistry& bdevs) {
    for (const ScsiTargetInfo& t : targets_) {
        t.bdev->remove_resize_listener(t.resize_listener);
        (void)bdevs.release(t.bdev_name, holder(t.id));
    }
    targets_.clear();
}

void ScsiTargetSet::forget(uint32_t id) {
    auto it = std::find_if(targets_.begin(), targets_.end(),
                           [id](const ScsiTargetInfo& t) { return t.id == id; });
    if (it != targets_.end()) {
        it->bdev->remove_resize_listener(it->resize_listener);
        targets_.erase(it);
    }
}

}  // namespace vhostd::targets

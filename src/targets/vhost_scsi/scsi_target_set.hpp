// ScsiTargetSet: the SCSI targets of one vhost-user-scsi controller as the control reactor
// manages them: which bdev each target number serves and the claim held on it. The device
// (virtio_scsi::ScsiDevice) does the data-path side; this keeps names and claims in step, and
// passes each target bdev's events on: a resize becomes a capacity-changed unit attention, a
// hot-removed bdev a removed target (the guest sees the hot-unplug).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "block/bdev_registry.hpp"
#include "block/bdev_subscription.hpp"
#include "devices/virtio_scsi/scsi_device.hpp"

namespace vhostd::targets {

struct ScsiTargetInfo {
    uint32_t id = 0;
    std::string bdev_name;
    block::BdevSubscription events;  // reports the bdev's events to the guest
};

class ScsiTargetSet : public std::enable_shared_from_this<ScsiTargetSet> {
  public:
    ScsiTargetSet(std::string ctrlr, std::shared_ptr<virtio_scsi::ScsiDevice> device,
                  block::BdevRegistry& bdevs)
        : ctrlr_(std::move(ctrlr)), device_(std::move(device)), bdevs_(bdevs) {}

    // Claims `bdev_name` and adds it as target `num` (a negative `num`: the lowest free one,
    // as SPDK does). Returns the target number.
    Result<uint32_t> add(int64_t num, std::string_view bdev_name);
    // Removes target `num`; `done` runs on the control reactor once no queue can reach it
    // any more and its bdev claim is released. The set must be owned by a shared_ptr.
    Result<void> remove(uint32_t num, std::move_only_function<void()> done);
    // Releases every claim (the controller is being deleted).
    void release_all();

    // Present targets (including ones being removed), by number.
    [[nodiscard]] const std::vector<ScsiTargetInfo>& targets() const { return targets_; }

  private:
    [[nodiscard]] std::string holder(uint32_t num) const;

    std::string ctrlr_;
    void on_bdev_event(uint8_t id, block::BdevEvent event);

    std::shared_ptr<virtio_scsi::ScsiDevice> device_;
    block::BdevRegistry& bdevs_;
    std::vector<ScsiTargetInfo> targets_;  // sorted by id
};

}  // namespace vhostd::targets

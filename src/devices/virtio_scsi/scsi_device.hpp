// ScsiDevice: virtio-scsi (VIRTIO 1.2, 5.6) over the SCSI target core: features, the
// configuration space, up to 256 targets (LUN 0 each) added and removed at runtime, and a
// handler per started queue (control, event, request). Targets are kept on the control
// reactor and reach each I/O reactor's ScsiReactorState by message.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "block/bdev.hpp"
#include "devices/virtio_scsi/scsi_reactor_state.hpp"
#include "devices/virtio_scsi/scsi_request.hpp"
#include "scsi/target.hpp"
#include "spec/virtio_scsi.hpp"
#include "virtio/device.hpp"

namespace vhostd::virtio_scsi {

struct ScsiDeviceOptions {
    uint16_t num_request_queues = 16;  // upper bound; the frontend chooses how many it starts
    uint16_t max_queue_size = 1024;
    uint32_t seg_max = 254;         // data segments per request
    uint32_t max_sectors = 0xffff;  // 512-byte sectors per command
    uint32_t cmd_per_lun = 128;
    bool packed_ring = false;  // offer VIRTIO_F_RING_PACKED (the transport serves either layout)
};

class ScsiDevice final : public virtio::Device, public std::enable_shared_from_this<ScsiDevice> {
  public:
    // `reactors`: the controller's I/O reactors in queue-placement order (queue i runs on
    // reactors[i % size]); `control`: where target changes are made and reported.
    ScsiDevice(reactor::Reactor& control, std::vector<reactor::Reactor*> reactors,
               const ScsiDeviceOptions& options);
    ~ScsiDevice() override;

    // --- virtio::Device ---
    [[nodiscard]] uint32_t device_type() const override;
    [[nodiscard]] uint64_t features() const override;
    [[nodiscard]] uint16_t num_queues() const override {
        return static_cast<uint16_t>(kFirstRequestQueue + options_.num_request_queues);
    }
    [[nodiscard]] uint16_t max_queue_size() const override { return options_.max_queue_size; }
    [[nodiscard]] uint32_t config_size() const override { return sizeof(Config); }
    void read_config(uint32_t offset, std::span<uint8_t> out) const override;
    Result<void> write_config(uint32_t offset, std::span<const uint8_t> data) override;
    void set_driver_features(uint64_t features) override;
    void reset() override;
    Result<std::unique_ptr<virtio::QueueHandler>> create_queue_handler(
        reactor::Reactor& reactor, virtio::RunningQueue queue) override;

    // --- targets: control reactor only ---
    // Creates target `id` with LUN 0 over `bdev`, makes it reachable from every queue and
    // reports it to the driver (TRANSPORT_RESET / RESCAN). EEXIST if the id is taken or
    // still being removed.
    Result<void> add_target(uint8_t id, std::shared_ptr<block::Bdev> bdev);
    // Makes the target unreachable (new commands: BAD_TARGET), reports TRANSPORT_RESET /
    // REMOVED, and calls `done` on the control reactor once every queue has drained its
    // commands to it. ENODEV if there is no such target.
    Result<void> remove_target(uint8_t id, std::move_only_function<void()> done);
    // The bdev behind target `id` changed size: CAPACITY DATA HAS CHANGED unit attention and
    // a PARAM_CHANGE event. ENODEV if there is no such target.
    Result<void> notify_resized(uint8_t id);
    [[nodiscard]] bool has_target(uint8_t id) const { return targets_[id].target != nullptr; }
    [[nodiscard]] bool removing(uint8_t id) const { return targets_[id].removing; }
    // Lowest id with no target (SPDK's choice for scsi_target_num -1); nullopt if all taken.
    [[nodiscard]] std::optional<uint8_t> first_free_target() const;
    [[nodiscard]] std::shared_ptr<block::Bdev> target_bdev(uint8_t id) const;

    // --- any thread ---
    [[nodiscard]] CmdSizes sizes() const {
        return {cdb_size_.load(std::memory_order_relaxed),
                sense_size_.load(std::memory_order_relaxed)};
    }
    [[nodiscard]] const ScsiDeviceOptions& options() const { return options_; }
    [[nodiscard]] const std::vector<std::shared_ptr<ScsiReactorState>>& reactor_states() const {
        return states_;
    }

  private:
    struct TargetSlot {
        std::unique_ptr<scsi::Target> target;
        bool removing = false;
    };

    [[nodiscard]] std::shared_ptr<ScsiReactorState> state_of(const reactor::Reactor& r) const;
    void post_event(const Event& event);

    reactor::Reactor& control_;
    std::vector<reactor::Reactor*> reactors_;
    ScsiDeviceOptions options_;
    std::vector<std::shared_ptr<ScsiReactorState>> states_;  // one per distinct reactor
    std::array<TargetSlot, kMaxTargets> targets_;
    std::atomic<uint32_t> cdb_size_{kDefaultCdbSize};
    std::atomic<uint32_t> sense_size_{kDefaultSenseSize};
    std::atomic<uint64_t> driver_features_{0};
};

}  // namespace vhostd::virtio_scsi

// BlkDevice: virtio-blk over a bdev. Builds the feature set and configuration space from the
// bdev's geometry and capabilities, tracks the driver's cache mode, and creates a BlkQueue
// per started virtqueue.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "block/bdev.hpp"
#include "devices/virtio_blk/blk_request.hpp"
#include "spec/virtio_blk.hpp"
#include "virtio/device.hpp"

namespace vhostd::virtio_blk {

struct BlkDeviceOptions {
    uint16_t num_queues = 16;  // upper bound; the frontend chooses how many it starts
    uint16_t max_queue_size = 1024;
    bool read_only = false;
    uint32_t seg_max = 126;          // data segments per request (plus header and status)
    uint32_t size_max = 128 * 1024;  // bytes per segment
    bool packed_ring = false;        // offer VIRTIO_F_RING_PACKED (SPDK's packed_ring)
};

class BlkDevice final : public virtio::Device {
  public:
    BlkDevice(std::shared_ptr<block::Bdev> bdev, const BlkDeviceOptions& options);

    [[nodiscard]] uint32_t device_type() const override;
    [[nodiscard]] uint64_t features() const override { return features_; }
    [[nodiscard]] uint16_t num_queues() const override { return options_.num_queues; }
    [[nodiscard]] uint16_t max_queue_size() const override { return options_.max_queue_size; }
    [[nodiscard]] uint32_t config_size() const override { return sizeof(Config); }
    void read_config(uint32_t offset, std::span<uint8_t> out) const override;
    Result<void> write_config(uint32_t offset, std::span<const uint8_t> data) override;
    void set_driver_features(uint64_t features) override;
    void reset() override;
    Result<std::unique_ptr<virtio::QueueHandler>> create_queue_handler(
        reactor::Reactor& reactor, virtio::RunningQueue queue) override;

    [[nodiscard]] block::Bdev& bdev() const { return *bdev_; }
    // The request limits, with the capacity as it is now (it changes when the bdev is resized).
    [[nodiscard]] BlkLimits limits() const {
        BlkLimits limits = limits_;
        limits.capacity_sectors = capacity_sectors_.load(std::memory_order_relaxed);
        return limits;
    }
    // Control reactor: takes the bdev's current size as the capacity (5.2.4 capacity). True
    // if it changed, in which case the driver must be told that the config changed.
    bool refresh_capacity();
    [[nodiscard]] const BlkDeviceOptions& options() const { return options_; }
    // GET_ID string (the bdev name, cut to 20 bytes).
    [[nodiscard]] const std::string& id() const { return id_; }
    // True if completed writes must already be stable (5.2.6.2: writethrough, or a driver
    // that negotiated neither FLUSH nor CONFIG_WCE), so writes are followed by a flush.
    [[nodiscard]] bool writes_must_be_stable() const;

  private:
    std::shared_ptr<block::Bdev> bdev_;
    BlkDeviceOptions options_;
    BlkLimits limits_;  // all but capacity_sectors, which limits() takes from capacity_sectors_
    std::atomic<uint64_t> capacity_sectors_;
    uint64_t features_;
    Config config_;  // everything but writeback and capacity, which change at runtime
    std::string id_;
    std::atomic<uint8_t> writeback_{1};
    std::atomic<uint64_t> driver_features_{0};
};

}  // namespace vhostd::virtio_blk

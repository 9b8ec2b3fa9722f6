// BlkDevice: features, configuration space and cache mode of a virtio-blk device.
#include "devices/virtio_blk/blk_device.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "block/bdev_channel.hpp"
#include "devices/virtio_blk/blk_queue.hpp"
#include "spec/virtio.hpp"

namespace vhostd::virtio_blk {
namespace {

using virtio::bit;

// Largest sector count that fits the 32-bit config field and is a whole number of blocks.
uint32_t max_sectors(uint32_t max_blocks, uint32_t block_size) {
    const uint64_t per_block = block_size / kSectorSize;
    const uint64_t limit = std::numeric_limits<uint32_t>::max() / per_block * per_block;
    if (max_blocks == 0) {
        return static_cast<uint32_t>(limit);
    }
    return static_cast<uint32_t>(std::min<uint64_t>(uint64_t{max_blocks} * per_block, limit));
}

}  // namespace

BlkDevice::BlkDevice(std::shared_ptr<block::Bdev> bdev, const BlkDeviceOptions& options)
    : bdev_(std::move(bdev)),
      options_(options),
      capacity_sectors_(bdev_->size_bytes() / kSectorSize),
      config_{} {
    const block::Capabilities& caps = bdev_->capabilities();
    const uint32_t block_size = bdev_->block_size();
    options_.read_only = options_.read_only || caps.read_only;
    // A request's data segments must fit what the backend can take in one vectored call.
    if (caps.max_segments != 0) {
        options_.seg_max = std::min(options_.seg_max, caps.max_segments);
    }

    limits_ = BlkLimits{
        .block_size = block_size,
        .read_only = options_.read_only,
        .volatile_cache = caps.flush,
        .discard = caps.discard,
        .write_zeroes = caps.write_zeroes,
        .max_discard_sectors = max_sectors(caps.max_discard_blocks, block_size),
        .max_write_zeroes_sectors = max_sectors(caps.max_write_zeroes_blocks, block_size),
    };

    features_ = bit(virtio::feature::kVersion1) | bit(virtio::feature::kIndirectDesc) |
                bit(virtio::feature::kEventIdx) | bit(feature::kSizeMax) | bit(feature::kSegMax) |
                bit(feature::kBlkSize) | bit(feature::kTopology) | bit(feature::kMq) |
                bit(feature::kFlush) | bit(feature::kConfigWce);
    if (options_.read_only) {
        features_ |= bit(feature::kRo);
    }
    // The ring layout is the transport's business (both are served); offered only when asked,
    // as SPDK does, since a frontend that acks it must also support it end to end.
    if (options_.packed_ring) {
        features_ |= bit(virtio::feature::kRingPacked);
    }
    if (caps.discard) {
        features_ |= bit(feature::kDiscard);
    }
    if (caps.write_zeroes) {
        features_ |= bit(feature::kWriteZeroes);
    }

    config_.size_max = options_.size_max;
    config_.seg_max = options_.seg_max;
    config_.blk_size = block_size;
    const uint32_t physical = std::max(caps.physical_block_size, block_size);
    config_.topology.physical_block_exp =
        static_cast<uint8_t>(std::countr_zero(physical / block_size));
    config_.topology.min_io_size = 1;
    config_.topology.opt_io_size = caps.optimal_io_blocks;
    config_.num_queues = options_.num_queues;
    config_.max_discard_sectors = limits_.max_discard_sectors;
    config_.max_discard_seg = 1;
    config_.discard_sector_alignment = block_size / kSectorSize;
    config_.max_write_zeroes_sectors = limits_.max_write_zeroes_sectors;
    config_.max_write_zeroes_seg = 1;
    config_.write_zeroes_may_unmap = caps.discard ? 1 : 0;

    id_ = bdev_->name().substr(0, kIdBytes);
}

uint32_t BlkDevice::device_type() const {
    return virtio::device_id::kBlock;
}

void BlkDevice::read_config(uint32_t offset, std::span<uint8_t> out) const {
    Config snapshot = config_;
    snapshot.capacity = capacity_sectors_.load(std::memory_order_relaxed);
    snapshot.writeback = writeback_.load(std::memory_order_relaxed);
    const auto* bytes = reinterpret_cast<const uint8_t*>(&snapshot);
    std::memcpy(out.data(), bytes + offset,
                std::min<size_t>(out.size(), sizeof(snapshot) - offset));
}

Result<void> BlkDevice::write_config(uint32_t offset, std::span<const uint8_t> data) {
    // 5.2.4: writeback is the only field a driver may write, and only with CONFIG_WCE.
    if (offset != offsetof(Config, writeback) || data.size() != 1) {
        return make_error(EPERM, "virtio-blk config offset {} (size {}) is read-only", offset,
                          data.size());
    }
    writeback_.store(data[0] != 0 ? 1 : 0, std::memory_order_relaxed);
    return {};
}

bool BlkDevice::refresh_capacity() {
    const uint64_t sectors = bdev_->size_bytes() / kSectorSize;
    return capacity_sectors_.exchange(sectors, std::memory_order_relaxed) != sectors;
}

void BlkDevice::set_driver_features(uint64_t features) {
    driver_features_.store(features, std::memory_order_relaxed);
}

void BlkDevice::reset() {
    writeback_.store(1, std::memory_order_relaxed);
    driver_features_.store(0, std::memory_order_relaxed);
}

bool BlkDevice::writes_must_be_stable() const {
    const uint64_t f = driver_features_.load(std::memory_order_relaxed);
    const bool flush = (f & bit(feature::kFlush)) != 0;
    const bool wce = (f & bit(feature::kConfigWce)) != 0;
    return (!flush && !wce) || (wce && writeback_.load(std::memory_order_relaxed) == 0);
}

Result<std::unique_ptr<virtio::QueueHandler>> BlkDevice::create_queue_handler(
    reactor::Reactor& reactor, virtio::RunningQueue queue) {
    return std::make_unique<BlkQueue>(reactor, std::move(queue), *this);
}

}  // namespace vhostd::virtio_blk

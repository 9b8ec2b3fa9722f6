// BlkConfig: the virtio-blk configuration space (VIRTIO 1.2, 5.2.4) as the frontend reads it
// with VHOST_USER_GET_CONFIG. Fields the device did not return read as zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/error.hpp"

namespace vhostd::frontend {

struct BlkConfig {
    uint64_t capacity = 0;  // in 512-byte sectors
    uint32_t size_max = 0;
    uint32_t seg_max = 0;
    struct {
        uint16_t cylinders = 0;
        uint8_t heads = 0;
        uint8_t sectors = 0;
    } geometry;
    uint32_t blk_size = 0;
    struct {
        uint8_t physical_block_exp = 0;
        uint8_t alignment_offset = 0;
        uint16_t min_io_size = 0;
        uint32_t opt_io_size = 0;
    } topology;
    uint8_t writeback = 0;
    uint16_t num_queues = 0;
    uint32_t max_discard_sectors = 0;
    uint32_t max_discard_seg = 0;
    uint32_t discard_sector_alignment = 0;
    uint32_t max_write_zeroes_sectors = 0;
    uint32_t max_write_zeroes_seg = 0;
    uint8_t write_zeroes_may_unmap = 0;
    size_t length = 0;  // bytes the device returned

    // Parses `bytes` (offset 0 of the configuration space); needs at least the capacity.
    static Result<BlkConfig> parse(std::span<const std::byte> bytes);
};

}  // namespace vhostd::frontend

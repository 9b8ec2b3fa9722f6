// Parsing of one virtio-blk request from its (already walked) buffers into a block command.
// Pure: no queue, no backend, so it is unit-tested and fuzzed on its own. The header and
// segments are copied out of guest memory once and checked here.
#pragma once

#include <cstdint>
#include <span>

#include <sys/uio.h>

#include "block/io_request.hpp"

namespace vhostd::virtio_blk {

// What the device advertised, and what the request is checked against.
struct BlkLimits {
    uint64_t capacity_sectors = 0;  // 512-byte sectors
    uint32_t block_size = 512;      // logical block size in bytes (a multiple of 512)
    bool read_only = false;
    bool volatile_cache = false;  // the bdev has a write cache that flush makes durable
    bool discard = false;
    bool write_zeroes = false;
    uint32_t max_discard_sectors = 0;
    uint32_t max_write_zeroes_sectors = 0;
};

enum class BlkAction : uint8_t {
    submit,    // hand `io` to the backend
    get_id,    // write the device ID into `data`
    complete,  // finish now with `status`
};

struct BlkCommand {
    BlkAction action = BlkAction::complete;
    uint8_t status = 0;  // for complete
    block::IoType io = block::IoType::read;
    bool unmap = false;
    uint64_t offset = 0;    // bytes
    uint64_t length = 0;    // bytes
    std::span<iovec> data;  // read/write buffers, or the GET_ID buffer
};

// `readable`: the device-readable buffers (header first). `writable`: the device-writable
// buffers without the final status byte. Both may be trimmed in place.
BlkCommand parse_request(std::span<iovec> readable, std::span<iovec> writable,
                         const BlkLimits& limits);

}  // namespace vhostd::virtio_blk

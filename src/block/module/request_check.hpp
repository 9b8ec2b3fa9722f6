// The checks every backend makes before it starts a request. Devices validate guest input
// first; these are defence in depth against device bugs (nothing touches memory or a file out
// of range) and the one place capability and read-only rules are enforced in the block layer.
#pragma once

#include <cstdint>

#include "block/bdev.hpp"
#include "block/io_request.hpp"

namespace vhostd::block {

// What a channel needs to know about its bdev to check requests; copied into the channel so
// the I/O path does not chase the Bdev. The block count is shared, so a resize reaches it.
struct RequestLimits {
    uint32_t block_size = 0;
    SharedBlockCount num_blocks;
    Capabilities caps;

    static RequestLimits of(const Bdev& bdev) {
        return {bdev.block_size(), bdev.shared_num_blocks(), bdev.capabilities()};
    }
    // For tests and tools that have no Bdev: a fixed size.
    static RequestLimits fixed(uint32_t block_size, uint64_t num_blocks, Capabilities caps = {}) {
        return {block_size, std::make_shared<std::atomic<uint64_t>>(num_blocks), caps};
    }
    [[nodiscard]] uint64_t size_bytes() const {
        return uint64_t{block_size} * num_blocks->load(std::memory_order_relaxed);
    }
};

// Block-aligned, inside the bdev, and for read/write: iovecs adding up to exactly `length`,
// no more than caps.max_segments of them.
[[nodiscard]] bool is_well_formed(const IoRequest& request, const RequestLimits& limits) noexcept;

// success if the backend may start `request`; io_error if it is malformed or writes to a
// read-only bdev (virtio 5.2.6: "if VIRTIO_BLK_F_RO is set, any write requests will fail");
// unsupported if it needs a capability the bdev lacks. A flush is always allowed: without a
// volatile cache it is a no-op, which backends complete as success.
[[nodiscard]] IoStatus check_request(const IoRequest& request,
                                     const RequestLimits& limits) noexcept;

}  // namespace vhostd::block

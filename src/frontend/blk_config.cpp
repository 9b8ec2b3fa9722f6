// BlkConfig parsing: little-endian fields at the offsets of VIRTIO 1.2, 5.2.4.
#include "frontend/blk_config.hpp"

#include <cstring>

namespace vhostd::frontend {
namespace {

// Reads a field at `offset` if the device returned all of it; leaves `out` untouched otherwise.
template <class T>
void field(std::span<const std::byte> bytes, size_t offset, T& out) {
    if (offset + sizeof(T) <= bytes.size()) {
        std::memcpy(&out, bytes.data() + offset, sizeof(T));
    }
}

}  // namespace

Result<BlkConfig> BlkConfig::parse(std::span<const std::byte> bytes) {
    if (bytes.size() < sizeof(uint64_t)) {
        return make_error(EPROTO, "virtio-blk config of {} bytes has no capacity", bytes.size());
    }
    BlkConfig c;
    c.length = bytes.size();
    field(bytes, 0, c.capacity);
    field(bytes, 8, c.size_max);
    field(bytes, 12, c.seg_max);
    field(bytes, 16, c.geometry.cylinders);
    field(bytes, 18, c.geometry.heads);
    field(bytes, 19, c.geometry.sectors);
    field(bytes, 20, c.blk_size);
    field(bytes, 24, c.topology.physical_block_exp);
    field(bytes, 25, c.topology.alignment_offset);
    field(bytes, 26, c.topology.min_io_size);
    field(bytes, 28, c.topology.opt_io_size);
    field(bytes, 32, c.writeback);
    field(bytes, 34, c.num_queues);
    field(bytes, 36, c.max_discard_sectors);
    field(bytes, 40, c.max_discard_seg);
    field(bytes, 44, c.discard_sector_alignment);
    field(bytes, 48, c.max_write_zeroes_sectors);
    field(bytes, 52, c.max_write_zeroes_seg);
    field(bytes, 56, c.write_zeroes_may_unmap);
    return c;
}

}  // namespace vhostd::frontend

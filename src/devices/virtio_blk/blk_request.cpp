// virtio-blk request parsing and validation (VIRTIO 1.2, 5.2.6).
#include "devices/virtio_blk/blk_request.hpp"

#include "base/iovec.hpp"
#include "base/multiple_of.hpp"
#include "spec/virtio_blk.hpp"

namespace vhostd::virtio_blk {
namespace {

BlkCommand finish_with(uint8_t status) {
    return BlkCommand{.action = BlkAction::complete, .status = status};
}

// The byte range [sector * 512, + sectors * 512) lies on the disk and on block boundaries.
bool range_ok(uint64_t sector, uint64_t sectors, const BlkLimits& limits) {
    const uint64_t per_block = limits.block_size / kSectorSize;
    return sector <= limits.capacity_sectors && sectors <= limits.capacity_sectors - sector &&
           is_multiple_of(sector, per_block) && is_multiple_of(sectors, per_block);
}

BlkCommand read_write(block::IoType io, uint64_t sector, std::span<iovec> data,
                      const BlkLimits& limits) {
    const uint64_t length = iov_length(data);
    // 5.2.6: IN/OUT data comes in multiples of 512 bytes; the range must fit the disk.
    if (length % kSectorSize != 0 || !range_ok(sector, length / kSectorSize, limits)) {
        return finish_with(status::kIoErr);
    }
    if (length == 0) {
        return finish_with(status::kOk);
    }
    return BlkCommand{.action = BlkAction::submit,
                      .io = io,
                      .offset = sector * kSectorSize,
                      .length = length,
                      .data = data};
}

BlkCommand discard_or_zero(block::IoType io, std::span<iovec> payload, const BlkLimits& limits) {
    // We advertise max_discard_seg = max_write_zeroes_seg = 1: exactly one segment.
    if (iov_length(payload) != sizeof(DiscardWriteZeroesSegment)) {
        return finish_with(status::kIoErr);
    }
    DiscardWriteZeroesSegment seg{};
    iov_copy_out(payload, 0, &seg, sizeof(seg));
    // 5.2.6.2: unknown flags -> UNSUPP; unmap is only meaningful for write zeroes.
    if ((seg.flags & ~kSegmentFlagUnmap) != 0 ||
        (io == block::IoType::discard && (seg.flags & kSegmentFlagUnmap) != 0)) {
        return finish_with(status::kUnsupp);
    }
    const uint32_t max =
        io == block::IoType::discard ? limits.max_discard_sectors : limits.max_write_zeroes_sectors;
    if (limits.read_only || seg.num_sectors > max ||
        !range_ok(seg.sector, seg.num_sectors, limits)) {
        return finish_with(status::kIoErr);
    }
    if (seg.num_sectors == 0) {
        return finish_with(status::kOk);
    }
    return BlkCommand{.action = BlkAction::submit,
                      .io = io,
                      .unmap = (seg.flags & kSegmentFlagUnmap) != 0,
                      .offset = seg.sector * kSectorSize,
                      .length = uint64_t{seg.num_sectors} * kSectorSize};
}

}  // namespace

BlkCommand parse_request(std::span<iovec> readable, std::span<iovec> writable,
                         const BlkLimits& limits) {
    // 5.2.6: every request starts with the 16-byte header, device-readable. Copied once.
    RequestHeader header{};
    if (iov_copy_out(readable, 0, &header, sizeof(header)) != sizeof(header)) {
        return finish_with(status::kIoErr);
    }
    std::span<iovec> payload = iov_drop_front(readable, sizeof(header));

    switch (header.type) {
        case request_type::kIn:
            return read_write(block::IoType::read, header.sector, writable, limits);
        case request_type::kOut:
            // 5.2.6.2: writes to a read-only device fail with IOERR and write nothing.
            if (limits.read_only) {
                return finish_with(status::kIoErr);
            }
            return read_write(block::IoType::write, header.sector, payload, limits);
        case request_type::kFlush:
            if (!limits.volatile_cache) {
                return finish_with(status::kOk);  // nothing volatile to make stable
            }
            return BlkCommand{.action = BlkAction::submit, .io = block::IoType::flush};
        case request_type::kGetId:
            return BlkCommand{.action = BlkAction::get_id, .data = writable};
        case request_type::kDiscard:
            if (!limits.discard) {
                return finish_with(status::kUnsupp);
            }
            return discard_or_zero(block::IoType::discard, payload, limits);
        case request_type::kWriteZeroes:
            if (!limits.write_zeroes) {
                return finish_with(status::kUnsupp);
            }
            return discard_or_zero(block::IoType::write_zeroes, payload, limits);
        default:
            return finish_with(status::kUnsupp);
    }
}

}  // namespace vhostd::virtio_blk

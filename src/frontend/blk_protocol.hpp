// virtio-blk as the frontend writes it into guest RAM: the device's wire definitions
// (spec/virtio_blk.hpp, the one source of them) under driver-side names, plus a
// typed request type and the frontend's own "status not written" marker.
#pragma once

#include <cstddef>
#include <cstdint>

#include "spec/virtio_blk.hpp"

namespace vhostd::frontend::blk {

namespace feature = virtio_blk::feature;

// 5.2.6 Request types.
enum class RequestType : uint32_t {
    in = virtio_blk::request_type::kIn,
    out = virtio_blk::request_type::kOut,
    flush = virtio_blk::request_type::kFlush,
    get_id = virtio_blk::request_type::kGetId,
    discard = virtio_blk::request_type::kDiscard,
    write_zeroes = virtio_blk::request_type::kWriteZeroes,
};

// 5.2.6 Status byte values.
namespace status {
using virtio_blk::status::kIoErr;
using virtio_blk::status::kOk;
using virtio_blk::status::kUnsupp;
// Not a virtio value: what the frontend stores before submitting, so a device that completes
// a request without writing its status is visible.
constexpr uint8_t kNotWritten = 0xff;
}  // namespace status

using virtio_blk::DiscardWriteZeroesSegment;
using virtio_blk::kIdBytes;
using virtio_blk::kSectorSize;
using virtio_blk::kSegmentFlagUnmap;
using virtio_blk::RequestHeader;

// Bytes of configuration space up to and including write_zeroes_may_unmap and its padding
// (the layout before the zoned-device fields of later spec revisions).
constexpr size_t kConfigSize = sizeof(virtio_blk::Config);

}  // namespace vhostd::frontend::blk

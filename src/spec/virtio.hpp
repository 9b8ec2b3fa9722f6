// Constants and wire layouts from the VIRTIO 1.2 specification that every virtio device and
// transport shares: feature bits, device status, split- and packed-ring structures.
// Little-endian host.
#pragma once

#include <bit>
#include <cstdint>

namespace vhostd::virtio {

static_assert(std::endian::native == std::endian::little,
              "vhostd reads virtio structures in place and assumes a little-endian host");

constexpr uint64_t bit(unsigned n) {
    return uint64_t{1} << n;
}

// Device-independent feature bits (spec 6 "Reserved Feature Bits").
namespace feature {
constexpr unsigned kNotifyOnEmpty = 24;
constexpr unsigned kAnyLayout = 27;
constexpr unsigned kIndirectDesc = 28;  // VIRTIO_RING_F_INDIRECT_DESC
constexpr unsigned kEventIdx = 29;      // VIRTIO_RING_F_EVENT_IDX
constexpr unsigned kVersion1 = 32;
constexpr unsigned kAccessPlatform = 33;
constexpr unsigned kRingPacked = 34;
constexpr unsigned kInOrder = 35;
}  // namespace feature

// Device status field (spec 2.1).
namespace status {
constexpr uint8_t kAcknowledge = 1;
constexpr uint8_t kDriver = 2;
constexpr uint8_t kDriverOk = 4;
constexpr uint8_t kFeaturesOk = 8;
constexpr uint8_t kDeviceNeedsReset = 64;
constexpr uint8_t kFailed = 128;
}  // namespace status

// Device IDs (spec 5).
namespace device_id {
constexpr uint32_t kBlock = 2;
constexpr uint32_t kScsi = 8;
}  // namespace device_id

// Split virtqueue (spec 2.7). Queue size is a power of two, at most 32768.
constexpr uint32_t kMaxQueueSize = 32768;

struct VringDesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
static_assert(sizeof(VringDesc) == 16);

namespace desc_flags {
constexpr uint16_t kNext = 1;
constexpr uint16_t kWrite = 2;
constexpr uint16_t kIndirect = 4;
}  // namespace desc_flags

struct VringUsedElem {
    uint32_t id;
    uint32_t len;
};
static_assert(sizeof(VringUsedElem) == 8);

// Avail ring: flags, idx, ring[size], used_event. Used ring: flags, idx, ring[size],
// avail_event. Offsets computed from the size because the arrays are variable-length.
constexpr uint16_t kAvailFlagNoInterrupt = 1;  // VRING_AVAIL_F_NO_INTERRUPT
constexpr uint16_t kUsedFlagNoNotify = 1;      // VRING_USED_F_NO_NOTIFY

constexpr uint64_t desc_table_bytes(uint32_t size) {
    return uint64_t{16} * size;
}
constexpr uint64_t avail_ring_bytes(uint32_t size) {
    return 6 + uint64_t{2} * size;
}
constexpr uint64_t used_ring_bytes(uint32_t size) {
    return 6 + uint64_t{8} * size;
}
constexpr uint64_t kDescAlign = 16;
constexpr uint64_t kAvailAlign = 2;
constexpr uint64_t kUsedAlign = 4;

// vring_need_event (spec 2.7.10): true if moving from `old_idx` to `new_idx` passes `event`.
constexpr bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx) {
    return static_cast<uint16_t>(new_idx - event - 1) < static_cast<uint16_t>(new_idx - old_idx);
}

// Packed virtqueue (spec 2.8): one descriptor ring the driver and the device both write, and
// two event suppression structures. Any queue size up to 2^15 (no power of two needed).
constexpr uint32_t kMaxPackedQueueSize = 32768;

struct PackedDesc {
    uint64_t addr;
    uint32_t len;
    uint16_t id;  // buffer ID: meaningful in a chain's last descriptor and in used descriptors
    uint16_t flags;
};
static_assert(sizeof(PackedDesc) == 16);

// 2.8.1: a descriptor is available when AVAIL matches the driver's wrap counter and USED does
// not; used when both match the device's wrap counter.
namespace desc_flags {
constexpr uint16_t kAvail = 1U << 7;
constexpr uint16_t kUsed = 1U << 15;
}  // namespace desc_flags

// 2.8.10 / 2.8.14: struct pvirtq_event_suppress (driver area and device area alike).
struct EventSuppress {
    uint16_t off_wrap;  // bits 0-14: descriptor offset; bit 15: wrap counter
    uint16_t flags;     // bits 0-1: RING_EVENT_FLAGS_*; the rest reserved
};
static_assert(sizeof(EventSuppress) == 4);

namespace ring_event {
constexpr uint16_t kEnable = 0x0;
constexpr uint16_t kDisable = 0x1;
constexpr uint16_t kDesc = 0x2;  // only with VIRTIO_RING_F_EVENT_IDX
constexpr uint16_t kFlagsMask = 0x3;
}  // namespace ring_event

// 2.8.10.1: the descriptor ring is 16-byte aligned, each event structure 4-byte aligned.
constexpr uint64_t packed_desc_ring_bytes(uint32_t size) {
    return uint64_t{16} * size;
}
constexpr uint64_t kEventSuppressBytes = 4;
constexpr uint64_t kEventSuppressAlign = 4;

}  // namespace vhostd::virtio

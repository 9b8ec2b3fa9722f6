// The inflight I/O tracking buffer of vhost-user.rst ("Inflight I/O tracking"): one region per
// virtqueue, laid out for split or packed rings. The back-end creates the buffer
// (GET_INFLIGHT_FD), the front-end keeps it across back-end restarts and hands it back
// (SET_INFLIGHT_FD). Native byte order; the field names are the spec's.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vhostd::vhost_user::inflight {

// QueueRegion*.version: 0 is an uninitialized buffer, 1 the only layout defined so far.
constexpr uint16_t kVersion = 1;
// Each queue region is padded to this (as DPDK and QEMU's libvhost-user pad theirs).
constexpr uint64_t kQueueAlign = 64;

// --- split virtqueues ---
struct SplitDesc {     // DescStateSplit, indexed by head descriptor
    uint8_t inflight;  // 1 while the request is in flight (head descriptors only)
    uint8_t padding[5];
    uint16_t next;     // links the last batch of used heads
    uint64_t counter;  // fetch order
};
static_assert(sizeof(SplitDesc) == 16);

struct SplitHeader {    // QueueRegionSplit without desc[]
    uint64_t features;  // 0
    uint16_t version;
    uint16_t desc_num;         // the queue size
    uint16_t last_batch_head;  // head of the last batch's list
    uint16_t used_idx;         // used->idx once the last batch was cleared
};
static_assert(sizeof(SplitHeader) == 16);

// --- packed virtqueues ---
struct PackedDesc {    // DescStatePacked: a free-list entry holding one descriptor
    uint8_t inflight;  // 1 while the buffer is in flight (head entries only)
    uint8_t padding;
    uint16_t next;     // next entry of the free list, or of the buffer's list
    uint16_t last;     // last entry of the buffer's list (head entries only)
    uint16_t num;      // descriptors in the buffer's list (head entries only)
    uint64_t counter;  // fetch order (head entries only)
    uint16_t id;       // the descriptor as the driver made it available
    uint16_t flags;
    uint32_t len;
    uint64_t addr;
};
static_assert(sizeof(PackedDesc) == 32);

struct PackedHeader {   // QueueRegionPacked without desc[]
    uint64_t features;  // 0
    uint16_t version;
    uint16_t desc_num;       // the queue size
    uint16_t free_head;      // head of the free entry list
    uint16_t old_free_head;  // free_head as of the last completed update
    uint16_t used_idx;       // the device's next used descriptor
    uint16_t old_used_idx;
    uint8_t used_wrap_counter;  // the device ring wrap counter
    uint8_t old_used_wrap_counter;
    uint8_t padding[10];  // the spec's padding[7], then desc[]'s 8-byte alignment
};
static_assert(sizeof(PackedHeader) == 32);

constexpr uint64_t align_up(uint64_t v, uint64_t a) {
    return (v + a - 1) / a * a;
}

// Bytes of one queue's region for a queue of `queue_size` entries.
constexpr uint64_t split_queue_region_bytes(uint32_t queue_size) {
    return align_up(sizeof(SplitHeader) + uint64_t{queue_size} * sizeof(SplitDesc), kQueueAlign);
}
constexpr uint64_t packed_queue_region_bytes(uint32_t queue_size) {
    return align_up(sizeof(PackedHeader) + uint64_t{queue_size} * sizeof(PackedDesc), kQueueAlign);
}

}  // namespace vhostd::vhost_user::inflight

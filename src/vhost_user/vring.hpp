// Vring: what a session knows about one ring (size, addresses, base, notification fds, where it
// is in the start/stop cycle), and the translation of its frontend-virtual addresses into the
// host pointers a started queue uses.
#pragma once

#include <cstdint>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "guest_memory/guest_memory.hpp"
#include "spec/vhost_user.hpp"
#include "virtio/packed_queue.hpp"
#include "virtio/split_queue.hpp"

namespace vhostd::vhost_user {

struct Vring {
    uint32_t num = 0;       // SET_VRING_NUM; 0 until set
    bool addr_set = false;  // SET_VRING_ADDR received
    VringAddr addr{};       // frontend-virtual addresses
    // Where processing continues (SET_VRING_BASE, or where a stop ended): a split ring's next
    // avail index, or a packed ring's avail and used positions (virtio::PackedBase).
    uint32_t base = 0;
    bool kicked = false;    // SET_VRING_KICK received since the last GET_VRING_BASE
    bool enabled = false;   // SET_VRING_ENABLE
    bool running = false;   // QueueControl serves it (between start_queue and the stop's callback)
    bool stopping = false;  // stop_queue issued, callback pending
    bool broken = false;    // the device reported the ring broken: not restarted until reset
    UniqueFd kick;          // the originals; a started queue gets duplicates, so the ring can be
    UniqueFd call;          // restarted after a stop without the frontend resending them
    UniqueFd err;

    // Forgets everything (RESET_DEVICE); the ring must not be running.
    void reset() { *this = Vring{}; }
};

// Host pointers of a split ring of `num` entries (a power of two) at the frontend-virtual
// addresses `addr`. Spec 2.7: the descriptor table (16 * num bytes, 16-byte aligned), the
// available ring (6 + 2 * num, 2-aligned) and the used ring (6 + 8 * num, 4-aligned) must each
// lie wholly in guest memory; alignment is checked on the host pointers we will use.
[[nodiscard]] Result<virtio::SplitRing> translate_ring(const guest_memory::GuestMemory& memory,
                                                       const VringAddr& addr, uint32_t num);

// Host pointers of a packed ring of `num` entries: `addr`'s descriptor address is the
// descriptor ring (16 * num bytes, 16-aligned), its avail address the driver event suppression
// area and its used address the device's (4 bytes each, 4-aligned), as QEMU lays them out for
// VHOST_USER_SET_VRING_ADDR. Spec 2.8.10.1.
[[nodiscard]] Result<virtio::PackedRing> translate_packed_ring(
    const guest_memory::GuestMemory& memory, const VringAddr& addr, uint32_t num);

// A close-on-exec duplicate of `fd`, or an invalid fd if `fd` is invalid.
[[nodiscard]] Result<UniqueFd> duplicate_fd(const UniqueFd& fd);

}  // namespace vhostd::vhost_user

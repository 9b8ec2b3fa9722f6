// start_vring: the messages that start one ring, shared by every device client (blk, scsi):
// SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ADDR, SET_VRING_CALL, SET_VRING_KICK and, with
// protocol features, SET_VRING_ENABLE; and the bases a frontend sends.
#pragma once

#include <cstdint>

#include "base/error.hpp"
#include "frontend/connection.hpp"
#include "frontend/driver_queue.hpp"

namespace vhostd::frontend {

// Starts ring `index` over `ring` at `base` (a split avail index, or a packed ring's positions
// as VHOST_USER_SET_VRING_BASE encodes them).
Result<void> start_vring(Connection& connection, uint16_t index, const DriverQueue& ring,
                         uint32_t base, bool enable);

// SET_VRING_ADDR for ring `index`: with `log`, VHOST_VRING_F_LOG and the used ring's
// guest-physical address as log_guest_addr, as QEMU sends it when a migration starts.
Result<void> set_vring_addr(Connection& connection, uint16_t index, const DriverQueue& ring,
                            bool log);

// A ring's base for its first start: where the driver stands (split: its avail index; packed:
// its next used slot for both positions, nothing being in flight).
[[nodiscard]] uint32_t initial_base(const DriverQueue& ring);

// The base QEMU sends when it restarts a ring after the back-end died without answering
// GET_VRING_BASE: a split ring's used->idx as the back-end last published it; a packed ring's
// base as QEMU last set or got it (`last_base`: it cannot read one back from a packed ring).
// A back-end with the inflight region finds the rest there.
[[nodiscard]] uint32_t reconnect_base(const DriverQueue& ring, uint32_t last_base);

}  // namespace vhostd::frontend

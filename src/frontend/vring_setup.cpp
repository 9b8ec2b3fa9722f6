// start_vring: vhost-user.rst "Starting and stopping rings", as QEMU sends it.
#include "frontend/vring_setup.hpp"

namespace vhostd::frontend {

namespace vu = vhost_user;

Result<void> start_vring(Connection& connection, uint16_t index, const DriverQueue& ring,
                         uint32_t base, bool enable) {
    VHOSTD_TRY(
        connection.request_with(vu::Request::set_vring_num, vu::VringState{index, ring.size()}));
    VHOSTD_TRY(connection.request_with(vu::Request::set_vring_base, vu::VringState{index, base}));
    VHOSTD_TRY(set_vring_addr(connection, index, ring, false));
    const int call = ring.call_fd();
    const int kick = ring.kick_fd();
    VHOSTD_TRY(connection.request_with(vu::Request::set_vring_call, uint64_t{index}, {&call, 1}));
    // The ring starts when its kick fd arrives (vhost-user.rst, "Starting and stopping rings").
    VHOSTD_TRY(connection.request_with(vu::Request::set_vring_kick, uint64_t{index}, {&kick, 1}));
    // With VHOST_USER_F_PROTOCOL_FEATURES rings start disabled until SET_VRING_ENABLE.
    if (enable) {
        VHOSTD_TRY(
            connection.request_with(vu::Request::set_vring_enable, vu::VringState{index, 1}));
    }
    return {};
}

Result<void> set_vring_addr(Connection& connection, uint16_t index, const DriverQueue& ring,
                            bool log) {
    // Packed rings: descriptor ring, then the device area as "used" and the driver area as
    // "avail" (DriverQueue names them so). QEMU always fills log_guest_addr with the used
    // ring's guest address; the flag says whether it is used.
    const vu::VringAddr addr{index,
                             log ? vu::kVringFlagLog : 0,
                             ring.desc_user_addr(),
                             ring.used_user_addr(),
                             ring.avail_user_addr(),
                             ring.used_gpa()};
    return connection.request_with(vu::Request::set_vring_addr, addr);
}

namespace {

uint32_t packed_position(PackedDriverRing::Position p) {
    return (uint32_t{p.index} & 0x7fff) | (p.wrap ? 0x8000U : 0);
}

}  // namespace

uint32_t initial_base(const DriverQueue& ring) {
    if (!ring.packed()) {
        return ring.avail_idx();
    }
    const uint32_t used = packed_position(ring.packed_ring().next_used());
    return used | (used << 16);
}

uint32_t reconnect_base(const DriverQueue& ring, uint32_t last_base) {
    return ring.packed() ? last_base : ring.used_idx();
}

}  // namespace vhostd::frontend

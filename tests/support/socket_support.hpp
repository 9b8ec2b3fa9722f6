// Helpers every socket transport's tests and fuzzers share (vhost-user and vfio-user alike):
// raw sends with fds, memfds for guest RAM, and the open-fd count behind the leak checks.
#pragma once

#include <cstddef>
#include <span>

#include "base/unique_fd.hpp"

namespace vhostd::testing {

// A connected unix stream socketpair: `peer` blocking with a 10 s receive timeout (the test's
// end), `ours` non-blocking (the end the code under test reads).
struct SocketPair {
    SocketPair();
    UniqueFd peer;
    UniqueFd ours;
};

// Writes `bytes` with `fds` (at most 64) attached to the first byte; false on a short send.
bool send_bytes(int socket, std::span<const std::byte> bytes, std::span<const int> fds = {});

// A memfd of `size` bytes (guest RAM for tests); `seal` forbids resizing it, as QEMU's
// memory backends with sealing do.
UniqueFd make_memfd(size_t size, bool seal = false);
// Open fds of this process (counts /proc/self/fd).
size_t count_open_fds();

}  // namespace vhostd::testing

// eventfd helpers: the notification primitive shared by reactors, virtqueues and transports;
// and the checks and calls for eventfds a peer (a vhost-user frontend) hands us.
#pragma once

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace vhostd {

// A non-blocking, close-on-exec eventfd with a zero count.
[[nodiscard]] Result<UniqueFd> make_event_fd();

// Adds 1 to the counter; wakes a reader. Errors (EAGAIN on overflow, EBADF) are ignored:
// a notification either lands or the peer already has one pending. For our own eventfds.
void signal_event_fd(int fd) noexcept;

// Reads and clears the counter; returns false if it was already zero. Never blocks, even on
// an eventfd whose O_NONBLOCK a peer has cleared (preadv2 with RWF_NOWAIT).
bool drain_event_fd(int fd) noexcept;

// --- eventfds a peer passed us ---

// Checks that `fd` is an eventfd (EINVAL otherwise: pipes, sockets, files, devices) and puts
// it in non-blocking mode. The peer shares the open file and may clear O_NONBLOCK again,
// which is why the calls below do not rely on it.
[[nodiscard]] Result<void> adopt_peer_event_fd(int fd);

// signal_event_fd for a peer's eventfd: false if the notification could not be delivered
// because the write blocked (an eventfd at its maximum count in blocking mode) and the
// watchdog broke it off (base/stuck_call_watchdog.hpp), or the fd is unusable. A full counter
// in non-blocking mode (EAGAIN) counts as delivered: the peer has a notification pending.
[[nodiscard]] bool signal_peer_event_fd(int fd) noexcept;

}  // namespace vhostd

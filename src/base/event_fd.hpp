// eventfd helpers: the notification primitive shared by reactors, virtqueues and transports.
#pragma once

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace vhostd {

// A non-blocking, close-on-exec eventfd with a zero count.
[[nodiscard]] Result<UniqueFd> make_event_fd();

// Adds 1 to the counter; wakes a reader. Errors (EAGAIN on overflow, EBADF) are ignored:
// a notification either lands or the peer already has one pending.
void signal_event_fd(int fd) noexcept;

// Reads and clears the counter; returns false if it was already zero.
bool drain_event_fd(int fd) noexcept;

}  // namespace vhostd

// StuckCallWatchdog: bounds the time a thread can spend in a system call on a file that an
// untrusted peer controls. Some calls cannot be made non-blocking from our side: a frontend
// shares the open file description of its eventfds with us and may clear O_NONBLOCK on it
// again at any time, and eventfd writes have no per-call non-blocking flag. A thread that
// makes such a call announces it (two stores, no system call); a watchdog thread interrupts
// it with a signal if it is still inside the same call after kStuckAfter, and the call
// returns EINTR instead of blocking its reactor forever.
#pragma once

#include <chrono>
#include <cstddef>

#include <sys/types.h>

namespace vhostd {

inline constexpr std::chrono::milliseconds kStuckAfter{500};

// write(2) that returns -1 with errno EINTR once it has been blocked for about kStuckAfter.
ssize_t bounded_write(int fd, const void* data, size_t length) noexcept;

// How many calls the watchdog has interrupted since the process started (tests, logs).
[[nodiscard]] uint64_t stuck_calls_interrupted() noexcept;

}  // namespace vhostd

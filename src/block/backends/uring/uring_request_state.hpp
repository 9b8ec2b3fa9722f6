// The uring channel's use of IoRequest::backend_state (private to uring_channel*.cpp):
// a resubmission count in the low byte and retry flags above it.
#pragma once

#include <cstdint>

namespace vhostd::block::uring_state {

inline constexpr uint32_t kAttemptMask = 0xff;
inline constexpr uint32_t kBuffered = 1U << 8;  // read/write goes to the buffered fd
inline constexpr uint32_t kNoPunch = 1U << 9;   // write_zeroes: punching refused, zero instead

}  // namespace vhostd::block::uring_state

// Limits the core reports in the Block Limits VPD page (SBC-3 6.5.3) and enforces.
#pragma once

#include <cstdint>

#include "scsi/task_state.hpp"

namespace vhostd::scsi {

inline constexpr uint32_t kMaxBlockSize = 65536;
// MAXIMUM WRITE SAME LENGTH: large enough for Linux to zero big ranges in one command.
inline constexpr uint64_t kMaxWriteSameBlocks = uint64_t{1} << 22;
inline constexpr uint32_t kMaxUnmapDescriptors = detail::kMaxUnmapDescriptors;

}  // namespace vhostd::scsi

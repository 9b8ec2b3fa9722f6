// send_mem_table: VHOST_USER_SET_MEM_TABLE for a frontend's guest RAM, shared by every
// device client (blk, scsi).
#pragma once

#include <span>

#include "base/error.hpp"
#include "frontend/connection.hpp"
#include "frontend/guest_ram.hpp"

namespace vhostd::frontend {

// Sends every region with its fd in one SET_MEM_TABLE (at most kMaxMemTableRegions).
Result<void> send_mem_table(Connection& connection, std::span<const GuestRam::Region> regions);

}  // namespace vhostd::frontend

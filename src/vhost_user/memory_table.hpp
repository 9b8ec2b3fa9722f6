// Memory table messages: SET_MEM_TABLE builds a new guest memory snapshot from up to eight
// regions and their fds; ADD_MEM_REG and REM_MEM_REG (CONFIGURE_MEM_SLOTS) edit a copy of the
// current one. Nothing changes in the session until the caller installs the result.
#pragma once

#include "base/error.hpp"
#include "guest_memory/guest_memory.hpp"
#include "vhost_user/message.hpp"

namespace vhostd::vhost_user {

guest_memory::RegionDescriptor to_descriptor(const MemoryRegion& region);

// SET_MEM_TABLE: maps every region (taking the message's fds) into a new snapshot.
[[nodiscard]] Result<guest_memory::GuestMemory::Ptr> build_memory_table(Message& message);

// ADD_MEM_REG: `current` plus the region in the message (taking its fd).
[[nodiscard]] Result<guest_memory::GuestMemory::Ptr> add_memory_region(
    const guest_memory::GuestMemory& current, Message& message);

// REM_MEM_REG: `current` without the region the message names.
[[nodiscard]] Result<guest_memory::GuestMemory::Ptr> remove_memory_region(
    const guest_memory::GuestMemory& current, const Message& message);

}  // namespace vhostd::vhost_user

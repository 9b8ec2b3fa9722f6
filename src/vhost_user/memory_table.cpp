// Memory table messages: payload checks, mapping, copy-on-write edits.
#include "vhost_user/memory_table.hpp"

#include <cstddef>
#include <cstring>
#include <vector>

namespace vhostd::vhost_user {

using guest_memory::GuestMemory;
using guest_memory::MappedRegion;

guest_memory::RegionDescriptor to_descriptor(const MemoryRegion& region) {
    return {.guest_phys_addr = region.guest_phys_addr,
            .size = region.memory_size,
            .user_addr = region.userspace_addr,
            .mmap_offset = region.mmap_offset};
}

Result<GuestMemory::Ptr> build_memory_table(Message& message) {
    constexpr size_t kPrefix = offsetof(MemoryTable, regions);
    if (message.header.size < kPrefix) {
        return make_error(EINVAL, "SET_MEM_TABLE: payload of {} bytes is too short",
                          message.header.size);
    }
    uint32_t count;
    std::memcpy(&count, message.payload.data(), sizeof(count));
    // Spec "Memory regions description": up to eight regions, only those present are sent;
    // QEMU never sends an empty table.
    if (count == 0 || count > kMaxMemTableRegions) {
        return make_error(EINVAL, "SET_MEM_TABLE: {} regions (1 to {} allowed)", count,
                          kMaxMemTableRegions);
    }
    if (message.header.size != kPrefix + count * sizeof(MemoryRegion)) {
        return make_error(EINVAL, "SET_MEM_TABLE: {} regions need {} payload bytes, got {}", count,
                          kPrefix + count * sizeof(MemoryRegion), message.header.size);
    }
    // Spec SET_MEM_TABLE: one fd per region, in the same order.
    VHOSTD_TRY(message.expect_fds(count));

    std::vector<GuestMemory::RegionPtr> regions;
    for (uint32_t i = 0; i < count; ++i) {
        MemoryRegion region;
        std::memcpy(&region, message.payload.data() + kPrefix + i * sizeof(MemoryRegion),
                    sizeof(region));
        regions.push_back(
            VHOSTD_TRY(MappedRegion::map(std::move(message.fds[i]), to_descriptor(region))));
    }
    return GuestMemory::create(std::move(regions));
}

Result<GuestMemory::Ptr> add_memory_region(const GuestMemory& current, Message& message) {
    const auto single = VHOSTD_TRY(message.payload_as<SingleMemoryRegion>());
    // Spec ADD_MEM_REG: exactly one fd, from which the region is mapped.
    VHOSTD_TRY(message.expect_fds(1));
    // GET_MAX_MEM_SLOTS promised kMaxRegions; checked before mapping so that a full table
    // costs no mmap (GuestMemory::create would refuse it too).
    if (current.regions().size() >= GuestMemory::kMaxRegions) {
        return make_error(E2BIG, "ADD_MEM_REG: all {} memory slots are in use",
                          GuestMemory::kMaxRegions);
    }
    auto region =
        VHOSTD_TRY(MappedRegion::map(std::move(message.fds[0]), to_descriptor(single.region)));
    return current.with_region(std::move(region));
}

Result<GuestMemory::Ptr> remove_memory_region(const GuestMemory& current, const Message& message) {
    const auto single = VHOSTD_TRY(message.payload_as<SingleMemoryRegion>());
    // Spec REM_MEM_REG: no fd SHOULD be sent; one MAY be, and is closed unused (the caller
    // drops the message). More than one is malformed.
    if (message.fds.size() > 1) {
        return make_error(EINVAL, "REM_MEM_REG: came with {} file descriptors", message.fds.size());
    }
    // The region is identified by guest address, user address and size; the mmap offset is
    // ignored.
    return current.without_region(to_descriptor(single.region));
}

}  // namespace vhostd::vhost_user

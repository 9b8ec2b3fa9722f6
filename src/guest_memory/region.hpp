// MappedRegion: one guest RAM region handed over by the frontend as a file descriptor, mapped
// shared into vhostd and guarded against truncation (fault_guard.hpp). Unmapped when the last
// GuestMemory snapshot that holds it is released.
#pragma once

#include <cstdint>
#include <memory>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "guest_memory/fault_guard.hpp"

namespace vhostd::guest_memory {

// A region as the frontend describes it (vhost-user "memory region description").
struct RegionDescriptor {
    uint64_t guest_phys_addr = 0;
    uint64_t size = 0;
    uint64_t user_addr = 0;    // the frontend's virtual address of the region
    uint64_t mmap_offset = 0;  // where the region starts in the fd

    friend bool operator==(const RegionDescriptor&, const RegionDescriptor&) = default;
};

class MappedRegion {
  public:
    // Validates the descriptor (non-empty, no address overflow) and mmaps `fd` MAP_SHARED
    // read-write. Works for memfd, hugetlbfs and any shareable file: the mapping offset is
    // aligned down to the fd's page size (the file system's block size for hugetlbfs).
    static Result<std::shared_ptr<const MappedRegion>> map(UniqueFd fd,
                                                           const RegionDescriptor& desc);

    // A region over memory the caller owns and keeps alive (tests, fuzzers). Not unmapped.
    static std::shared_ptr<const MappedRegion> borrow(void* host, const RegionDescriptor& desc);

    ~MappedRegion();
    MappedRegion(const MappedRegion&) = delete;
    MappedRegion& operator=(const MappedRegion&) = delete;

    [[nodiscard]] const RegionDescriptor& descriptor() const { return desc_; }
    [[nodiscard]] uint64_t gpa_begin() const { return desc_.guest_phys_addr; }
    [[nodiscard]] uint64_t gpa_end() const { return desc_.guest_phys_addr + desc_.size; }
    [[nodiscard]] uint64_t uva_begin() const { return desc_.user_addr; }
    [[nodiscard]] uint64_t uva_end() const { return desc_.user_addr + desc_.size; }
    [[nodiscard]] uint64_t size() const { return desc_.size; }
    // Host address of the region's first byte (guest_phys_addr).
    [[nodiscard]] uint8_t* host() const { return host_; }
    [[nodiscard]] int fd() const { return fd_.get(); }
    // Some page of the region was cut off under us (SIGBUS, see fault_guard.hpp) since it was
    // mapped: what was read from or written to it is lost. Any thread.
    [[nodiscard]] bool faulted() const noexcept { return guard_.faulted(); }
    // The file cannot shrink (a memfd sealed with F_SEAL_SHRINK): no fault can happen.
    [[nodiscard]] bool sealed() const { return sealed_; }

  private:
    MappedRegion(const RegionDescriptor& desc, UniqueFd fd, void* map_base, size_t map_length,
                 uint8_t* host, GuardedRange guard, bool sealed);

    RegionDescriptor desc_;
    UniqueFd fd_;
    void* map_base_;  // nullptr for borrowed memory
    size_t map_length_;
    uint8_t* host_;
    GuardedRange guard_;  // unregistered before the mapping goes (destructor order)
    bool sealed_;
};

// Checks a descriptor on its own: size > 0 and no end address (gpa, uva, fd offset) wraps.
Result<void> validate_descriptor(const RegionDescriptor& desc);

}  // namespace vhostd::guest_memory

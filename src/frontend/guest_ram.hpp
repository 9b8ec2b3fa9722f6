// GuestRam: "guest memory" for a userspace frontend. memfd-backed regions mapped shared in this
// process at host addresses laid out like their guest-physical addresses, a bump allocator that
// hands out buffers with their GPA, and the region table to send to a vhost-user back-end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "spec/vhost_user.hpp"

namespace vhostd::frontend {

// A range of guest RAM: its guest-physical address and where this process sees it.
struct GuestBuffer {
    uint64_t gpa = 0;
    uint8_t* host = nullptr;
    uint64_t size = 0;

    [[nodiscard]] std::span<std::byte> bytes() const {
        return {reinterpret_cast<std::byte*>(host), size};
    }
};

class GuestRam {
  public:
    struct RegionSpec {
        uint64_t gpa = 0;
        uint64_t size = 0;
    };

    struct Options {
        // Ascending, non-overlapping, page-aligned. GPA holes between regions are left
        // inaccessible (PROT_NONE) in this process too.
        std::vector<RegionSpec> regions;
        // One memfd holding every region at increasing offsets, instead of one memfd each.
        bool shared_fd = false;
        // Bytes (page multiple) of each fd before its first region, so mmap_offset is non-zero.
        uint64_t fd_offset = 0;
        // Try MFD_HUGETLB first and fall back to ordinary pages when hugetlb is unavailable.
        bool hugetlb = false;
        // Fault every page in now (benchmarks), instead of on first touch.
        bool populate = false;
    };

    struct Region {
        uint64_t gpa = 0;
        uint64_t size = 0;
        uint8_t* host = nullptr;
        int fd = -1;  // owned by GuestRam
        uint64_t mmap_offset = 0;

        // As VHOST_USER_SET_MEM_TABLE / ADD_MEM_REG describe it; userspace_addr is `host`.
        [[nodiscard]] vhost_user::MemoryRegion wire() const {
            return {gpa, size, reinterpret_cast<uint64_t>(host), mmap_offset};
        }
    };

    static Result<GuestRam> create(const Options& options);
    // One region of `size` bytes at `base_gpa`.
    static Result<GuestRam> create(uint64_t size, uint64_t base_gpa = 0);

    GuestRam(GuestRam&& other) noexcept;
    GuestRam& operator=(GuestRam&& other) noexcept;
    GuestRam(const GuestRam&) = delete;
    GuestRam& operator=(const GuestRam&) = delete;
    ~GuestRam();

    [[nodiscard]] std::span<const Region> regions() const { return regions_; }
    [[nodiscard]] std::vector<vhost_user::MemoryRegion> wire_regions() const;
    [[nodiscard]] bool hugetlb() const { return hugetlb_; }
    [[nodiscard]] uint64_t page_size() const { return page_size_; }

    // Host address of [gpa, gpa + len), or nullptr unless all of it is mapped RAM.
    [[nodiscard]] uint8_t* host(uint64_t gpa, uint64_t len = 1) const;
    // GPA of a host address inside the RAM (no check beyond the reservation).
    [[nodiscard]] uint64_t gpa_of(const void* host) const {
        return base_gpa_ + static_cast<uint64_t>(static_cast<const uint8_t*>(host) - base_);
    }

    // Next `size` bytes aligned to `align` (a power of two) that lie in a single region.
    Result<GuestBuffer> alloc(uint64_t size, uint64_t align = 64);
    // A buffer that straddles the boundary between region `lower` and region `lower + 1`
    // (which must be GPA-adjacent), with `before` bytes in the lower one. Skips the allocator
    // forward to it, so call it before the allocator passes that boundary.
    Result<GuestBuffer> alloc_across(size_t lower, uint64_t size, uint64_t before);
    // Any mapped range, not allocated (the caller keeps it clear of allocated buffers).
    Result<GuestBuffer> view(uint64_t gpa, uint64_t size) const;

    // Bytes left to the allocator (summed over the regions it has not passed).
    [[nodiscard]] uint64_t remaining() const;

  private:
    GuestRam() = default;
    void release() noexcept;

    std::vector<UniqueFd> fds_;
    std::vector<Region> regions_;
    uint8_t* base_ = nullptr;  // host address of the first region's first byte
    uint64_t base_gpa_ = 0;
    size_t reserved_ = 0;  // bytes of address space reserved at base_
    uint64_t page_size_ = 4096;
    bool hugetlb_ = false;
    uint64_t cursor_ = 0;       // next free GPA
    size_t cursor_region_ = 0;  // region holding cursor_
};

}  // namespace vhostd::frontend

// MappedRegion: validation and shared mapping of one guest RAM region.
#include "guest_memory/region.hpp"

#include <limits>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace vhostd::guest_memory {
namespace {

bool add_overflows(uint64_t a, uint64_t b) {
    return a > std::numeric_limits<uint64_t>::max() - b;
}

// The granularity the fd can be mapped at: the huge page size on hugetlbfs, else the page size.
Result<uint64_t> mapping_alignment(int fd) {
    struct statfs fs {};
    if (::fstatfs(fd, &fs) != 0) {
        return errno_error("fstatfs on memory region fd");
    }
    if (static_cast<uint64_t>(fs.f_type) == HUGETLBFS_MAGIC) {
        return static_cast<uint64_t>(fs.f_bsize);
    }
    return static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

Result<void> validate_descriptor(const RegionDescriptor& desc) {
    if (desc.size == 0) {
        return make_error(EINVAL, "memory region at gpa {:#x} has size 0", desc.guest_phys_addr);
    }
    // The last byte of the region must be addressable in every space it lives in.
    if (add_overflows(desc.guest_phys_addr, desc.size - 1) ||
        add_overflows(desc.user_addr, desc.size - 1) ||
        add_overflows(desc.mmap_offset, desc.size - 1)) {
        return make_error(EINVAL, "memory region gpa {:#x} size {:#x} wraps the address space",
                          desc.guest_phys_addr, desc.size);
    }
    if (desc.size > std::numeric_limits<size_t>::max() / 2) {
        return make_error(EINVAL, "memory region size {:#x} is too large", desc.size);
    }
    return {};
}

Result<std::shared_ptr<const MappedRegion>> MappedRegion::map(UniqueFd fd,
                                                              const RegionDescriptor& desc) {
    VHOSTD_TRY(validate_descriptor(desc));
    if (!fd) {
        return make_error(EBADF, "memory region at gpa {:#x} came without a file descriptor",
                          desc.guest_phys_addr);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return errno_error("fstat on memory region fd");
    }
    // Touching a mapping beyond the end of a file raises SIGBUS: refuse regions the file
    // does not cover.
    if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) < desc.mmap_offset + desc.size) {
        return make_error(EINVAL,
                          "memory region (offset {:#x}, size {:#x}) extends past the end of its "
                          "file ({:#x} bytes)",
                          desc.mmap_offset, desc.size, st.st_size);
    }
    const uint64_t align = VHOSTD_TRY(mapping_alignment(fd.get()));
    const uint64_t map_offset = desc.mmap_offset & ~(align - 1);
    const uint64_t lead = desc.mmap_offset - map_offset;
    uint64_t map_length = desc.size + lead;
    map_length = (map_length + align - 1) & ~(align - 1);  // hugetlbfs wants whole pages

    void* base = ::mmap(nullptr, map_length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                        fd.get(), static_cast<off_t>(map_offset));
    if (base == MAP_FAILED) {
        return errno_error(fmt::format("mmap of memory region gpa {:#x} size {:#x}",
                                       desc.guest_phys_addr, desc.size));
    }
    // Guest RAM has no place in vhostd's core dumps (size, and the guest's privacy).
    ::madvise(base, map_length, MADV_DONTDUMP);
    auto guard = GuardedRange::add(base, map_length, align);
    if (!guard) {
        ::munmap(base, map_length);
        return std::unexpected(std::move(guard).error());
    }
    // F_GET_SEALS fails on files that cannot be sealed (anything but a memfd): unsealed.
    const int seals = ::fcntl(fd.get(), F_GET_SEALS);
    const bool sealed = seals >= 0 && (seals & F_SEAL_SHRINK) != 0;
    auto* host = static_cast<uint8_t*>(base) + lead;
    return std::shared_ptr<const MappedRegion>(
        new MappedRegion(desc, std::move(fd), base, map_length, host, std::move(*guard), sealed));
}

std::shared_ptr<const MappedRegion> MappedRegion::borrow(void* host, const RegionDescriptor& desc) {
    return std::shared_ptr<const MappedRegion>(new MappedRegion(
        desc, UniqueFd(), nullptr, 0, static_cast<uint8_t*>(host), GuardedRange(), true));
}

MappedRegion::MappedRegion(const RegionDescriptor& desc, UniqueFd fd, void* map_base,
                           size_t map_length, uint8_t* host, GuardedRange guard, bool sealed)
    : desc_(desc),
      fd_(std::move(fd)),
      map_base_(map_base),
      map_length_(map_length),
      host_(host),
      guard_(std::move(guard)),
      sealed_(sealed) {}

MappedRegion::~MappedRegion() {
    guard_ = GuardedRange();  // out of the table before the range can be reused
    if (map_base_ != nullptr) {
        ::munmap(map_base_, map_length_);
    }
}

}  // namespace vhostd::guest_memory

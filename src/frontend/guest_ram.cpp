// GuestRam: one address-space reservation covering the whole GPA span, with each region's
// memfd mapped MAP_FIXED at its GPA offset, so GPA-adjacent regions are host-contiguous here
// while the back-end maps them separately (buffers can cross regions).
#include "frontend/guest_ram.hpp"

#include <algorithm>
#include <bit>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.hpp"

namespace vhostd::frontend {

namespace {

constexpr uint64_t kHugePageSize = uint64_t{2} << 20;

uint64_t align_up(uint64_t value, uint64_t align) {
    return (value + align - 1) & ~(align - 1);
}

Result<void> validate(const GuestRam::Options& options) {
    if (options.regions.empty()) {
        return make_error(EINVAL, "guest RAM needs at least one region");
    }
    if (options.regions.size() > vhost_user::kMaxMemTableRegions) {
        return make_error(EINVAL, "{} guest RAM regions, SET_MEM_TABLE carries at most {}",
                          options.regions.size(), vhost_user::kMaxMemTableRegions);
    }
    uint64_t previous_end = 0;
    for (size_t i = 0; i < options.regions.size(); ++i) {
        const auto& r = options.regions[i];
        if (r.size == 0 || r.gpa + r.size < r.gpa) {
            return make_error(EINVAL, "guest RAM region {} is empty or wraps", i);
        }
        if (i > 0 && r.gpa < previous_end) {
            return make_error(EINVAL, "guest RAM region {} overlaps or precedes region {}", i,
                              i - 1);
        }
        previous_end = r.gpa + r.size;
    }
    return {};
}

Result<UniqueFd> make_memfd(uint64_t size, bool huge) {
    UniqueFd fd(::memfd_create("vhostd-guest-ram",
                               MFD_CLOEXEC | MFD_ALLOW_SEALING | (huge ? MFD_HUGETLB : 0U)));
    if (!fd) {
        return errno_error(huge ? "memfd_create(MFD_HUGETLB)" : "memfd_create");
    }
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
        return errno_error("ftruncate(guest RAM memfd)");
    }
    // As QEMU's memory-backend-memfd does (seal=on): the backend may rely on the size.
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
        return errno_error("sealing the guest RAM memfd");
    }
    return fd;
}

}  // namespace

Result<GuestRam> GuestRam::create(uint64_t size, uint64_t base_gpa) {
    Options options;
    options.regions.push_back({base_gpa, size});
    return create(options);
}

Result<GuestRam> GuestRam::create(const Options& options) {
    VHOSTD_TRY(validate(options));
    const auto build = [&options](bool huge) -> Result<GuestRam> {
        GuestRam ram;  // released on every error path below
        ram.hugetlb_ = huge;
        ram.page_size_ = huge ? kHugePageSize : static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
        const uint64_t page = ram.page_size_;
        if (options.fd_offset % page != 0) {
            return make_error(EINVAL, "fd offset {:#x} is not a multiple of {:#x}",
                              options.fd_offset, page);
        }
        for (const auto& r : options.regions) {
            if (r.gpa % page != 0 || r.size % page != 0) {
                return make_error(EINVAL, "region [{:#x}, +{:#x}) is not {:#x}-aligned", r.gpa,
                                  r.size, page);
            }
        }
        const uint64_t first = options.regions.front().gpa;
        const uint64_t span = options.regions.back().gpa + options.regions.back().size - first;
        // Reserve one extra page so the base can be aligned to the (huge) page size.
        ram.reserved_ = span + page;
        void* reservation = ::mmap(nullptr, ram.reserved_, PROT_NONE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (reservation == MAP_FAILED) {
            ram.reserved_ = 0;
            return errno_error("mmap(guest RAM reservation)");
        }
        ram.base_ = static_cast<uint8_t*>(reservation);  // release() unmaps from here
        const uint64_t aligned = align_up(reinterpret_cast<uint64_t>(reservation), page);
        if (aligned != reinterpret_cast<uint64_t>(reservation)) {
            // Trim the unaligned head so release() can unmap [base_, base_ + reserved_).
            const uint64_t head = aligned - reinterpret_cast<uint64_t>(reservation);
            ::munmap(reservation, head);
            ram.base_ = reinterpret_cast<uint8_t*>(aligned);
            ram.reserved_ -= head;
        }
        ram.base_gpa_ = first;

        uint64_t shared_size = options.fd_offset;
        for (const auto& r : options.regions) {
            shared_size += r.size;
        }
        uint64_t shared_offset = options.fd_offset;
        for (const auto& r : options.regions) {
            uint64_t offset = options.fd_offset;
            if (options.shared_fd) {
                if (ram.fds_.empty()) {
                    ram.fds_.push_back(VHOSTD_TRY(make_memfd(shared_size, huge)));
                }
                offset = shared_offset;
                shared_offset += r.size;
            } else {
                ram.fds_.push_back(VHOSTD_TRY(make_memfd(options.fd_offset + r.size, huge)));
            }
            const int fd = ram.fds_.back().get();
            uint8_t* at = ram.base_ + (r.gpa - first);
            const int flags = MAP_SHARED | MAP_FIXED | (options.populate ? MAP_POPULATE : 0);
            if (::mmap(at, r.size, PROT_READ | PROT_WRITE, flags, fd, static_cast<off_t>(offset)) ==
                MAP_FAILED) {
                return errno_error(fmt::format("mmap(guest RAM region at {:#x})", r.gpa));
            }
            ram.regions_.push_back({r.gpa, r.size, at, fd, offset});
        }
        ram.cursor_ = first;
        return ram;
    };
    if (options.hugetlb) {
        auto huge = build(true);
        if (huge) {
            return huge;
        }
        LOG_INFO(frontend, "hugetlb guest RAM unavailable ({}); using ordinary pages",
                 huge.error().describe());
    }
    return build(false);
}

GuestRam::GuestRam(GuestRam&& other) noexcept {
    *this = std::move(other);
}

GuestRam& GuestRam::operator=(GuestRam&& other) noexcept {
    if (this != &other) {
        release();
        fds_ = std::move(other.fds_);
        regions_ = std::move(other.regions_);
        base_ = std::exchange(other.base_, nullptr);
        base_gpa_ = other.base_gpa_;
        reserved_ = std::exchange(other.reserved_, 0);
        page_size_ = other.page_size_;
        hugetlb_ = other.hugetlb_;
        cursor_ = other.cursor_;
        cursor_region_ = other.cursor_region_;
        other.regions_.clear();
        other.fds_.clear();
    }
    return *this;
}

GuestRam::~GuestRam() {
    release();
}

void GuestRam::release() noexcept {
    if (base_ != nullptr && reserved_ != 0) {
        ::munmap(base_, reserved_);  // the region mappings lie inside the reservation
    }
    base_ = nullptr;
    reserved_ = 0;
    regions_.clear();
    fds_.clear();
}

std::vector<vhost_user::MemoryRegion> GuestRam::wire_regions() const {
    std::vector<vhost_user::MemoryRegion> out;
    out.reserve(regions_.size());
    for (const auto& r : regions_) {
        out.push_back(r.wire());
    }
    return out;
}

uint8_t* GuestRam::host(uint64_t gpa, uint64_t len) const {
    if (len == 0 || gpa + len < gpa) {
        return nullptr;
    }
    // Walk GPA-adjacent regions until the whole range is covered.
    uint64_t at = gpa;
    const uint64_t end = gpa + len;
    for (const auto& r : regions_) {
        if (at >= r.gpa && at < r.gpa + r.size) {
            at = r.gpa + r.size;
            if (at >= end) {
                return base_ + (gpa - base_gpa_);
            }
        }
    }
    return nullptr;
}

Result<GuestBuffer> GuestRam::alloc(uint64_t size, uint64_t align) {
    if (size == 0 || !std::has_single_bit(align)) {
        return make_error(EINVAL, "bad guest RAM allocation: {} bytes aligned to {}", size, align);
    }
    for (; cursor_region_ < regions_.size(); ++cursor_region_) {
        const Region& r = regions_[cursor_region_];
        const uint64_t start = align_up(std::max(cursor_, r.gpa), align);
        if (start >= r.gpa && start + size <= r.gpa + r.size && start + size > start) {
            cursor_ = start + size;
            return GuestBuffer{start, base_ + (start - base_gpa_), size};
        }
    }
    return make_error(ENOMEM, "guest RAM exhausted allocating {} bytes", size);
}

Result<GuestBuffer> GuestRam::alloc_across(size_t lower, uint64_t size, uint64_t before) {
    if (lower + 1 >= regions_.size()) {
        return make_error(EINVAL, "no region after region {}", lower);
    }
    const Region& lo = regions_[lower];
    const Region& hi = regions_[lower + 1];
    if (lo.gpa + lo.size != hi.gpa) {
        return make_error(EINVAL, "regions {} and {} are not GPA-adjacent", lower, lower + 1);
    }
    if (before == 0 || before >= size || before > lo.size || size - before > hi.size) {
        return make_error(EINVAL, "{} bytes with {} before the boundary do not straddle it", size,
                          before);
    }
    const uint64_t start = hi.gpa - before;
    if (cursor_region_ > lower || start < cursor_) {
        return make_error(ENOMEM, "allocator already passed GPA {:#x}", start);
    }
    cursor_ = start + size;
    cursor_region_ = lower + 1;
    return GuestBuffer{start, base_ + (start - base_gpa_), size};
}

Result<GuestBuffer> GuestRam::view(uint64_t gpa, uint64_t size) const {
    uint8_t* h = host(gpa, size);
    if (h == nullptr) {
        return make_error(EFAULT, "[{:#x}, +{:#x}) is not guest RAM", gpa, size);
    }
    return GuestBuffer{gpa, h, size};
}

uint64_t GuestRam::remaining() const {
    uint64_t left = 0;
    for (size_t i = cursor_region_; i < regions_.size(); ++i) {
        const Region& r = regions_[i];
        const uint64_t from = std::max(cursor_, r.gpa);
        if (from < r.gpa + r.size) {
            left += r.gpa + r.size - from;
        }
    }
    return left;
}

}  // namespace vhostd::frontend

// DirtyLog: the memfd, its mapping, and reading the bits.
#include "frontend/dirty_log.hpp"

#include <algorithm>
#include <atomic>
#include <utility>

#include <sys/mman.h>
#include <unistd.h>

namespace vhostd::frontend {

Result<DirtyLog> DirtyLog::create(uint64_t gpa_end, uint64_t offset) {
    if (offset % 8 != 0) {
        return make_error(EINVAL, "dirty log offset {:#x} is not a multiple of 8", offset);
    }
    constexpr uint64_t kPage = vhost_user::kLogPageSize;
    // One bit per page, rounded up to whole 64-bit words (QEMU's vhost_log_chunk_t).
    const uint64_t pages = (gpa_end + kPage - 1) / kPage;
    const uint64_t size = std::max<uint64_t>((pages + 63) / 64, 1) * 8;
    UniqueFd fd(::memfd_create("vhostd-dirty-log", MFD_CLOEXEC));
    if (!fd) {
        return errno_error("memfd_create for the dirty log");
    }
    if (::ftruncate(fd.get(), static_cast<off_t>(offset + size)) != 0) {
        return errno_error("ftruncate of the dirty log");
    }
    const size_t length = offset + size;
    void* map = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (map == MAP_FAILED) {
        return errno_error("mmap of the dirty log");
    }
    return DirtyLog(std::move(fd), map, length, size, offset);
}

DirtyLog::DirtyLog(UniqueFd fd, void* map, size_t map_length, uint64_t size, uint64_t offset)
    : fd_(std::move(fd)), map_(map), map_length_(map_length), size_(size), offset_(offset) {}

DirtyLog::DirtyLog(DirtyLog&& other) noexcept
    : fd_(std::move(other.fd_)),
      map_(std::exchange(other.map_, nullptr)),
      map_length_(other.map_length_),
      size_(other.size_),
      offset_(other.offset_) {}

DirtyLog& DirtyLog::operator=(DirtyLog&& other) noexcept {
    if (this != &other) {
        release();
        fd_ = std::move(other.fd_);
        map_ = std::exchange(other.map_, nullptr);
        map_length_ = other.map_length_;
        size_ = other.size_;
        offset_ = other.offset_;
    }
    return *this;
}

DirtyLog::~DirtyLog() {
    release();
}

void DirtyLog::release() {
    if (map_ != nullptr) {
        ::munmap(map_, map_length_);
        map_ = nullptr;
    }
}

uint64_t* DirtyLog::words() const {
    return reinterpret_cast<uint64_t*>(static_cast<uint8_t*>(map_) + offset_);
}

bool DirtyLog::dirty(uint64_t page) const {
    if (page >= pages()) {
        return false;
    }
    const uint64_t word =
        std::atomic_ref<uint64_t>(words()[page / 64]).load(std::memory_order_relaxed);
    return ((word >> (page % 64)) & 1) != 0;
}

std::vector<uint64_t> DirtyLog::dirty_pages() const {
    std::vector<uint64_t> pages;
    for (uint64_t w = 0; w < size_ / 8; ++w) {
        const uint64_t word = std::atomic_ref<uint64_t>(words()[w]).load(std::memory_order_relaxed);
        for (unsigned b = 0; b < 64; ++b) {
            if (((word >> b) & 1) != 0) {
                pages.push_back(w * 64 + b);
            }
        }
    }
    return pages;
}

std::vector<uint64_t> DirtyLog::take_dirty() {
    std::vector<uint64_t> pages;
    for (uint64_t w = 0; w < size_ / 8; ++w) {
        const uint64_t word =
            std::atomic_ref<uint64_t>(words()[w]).exchange(0, std::memory_order_acq_rel);
        for (unsigned b = 0; b < 64; ++b) {
            if (((word >> b) & 1) != 0) {
                pages.push_back(w * 64 + b);
            }
        }
    }
    return pages;
}

}  // namespace vhostd::frontend

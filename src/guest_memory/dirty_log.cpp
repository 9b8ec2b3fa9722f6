// DirtyLog: mapping checks and the bitmap updates.
#include "guest_memory/dirty_log.hpp"

#include <algorithm>
#include <bit>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vhostd::guest_memory {

// A page's bit is bit (page % 64) of 64-bit word page / 64, which is bit (page % 8) of byte
// page / 8 (the spec's layout) only on a little-endian host.
static_assert(std::endian::native == std::endian::little);

Result<DirtyLog::Ptr> DirtyLog::map(UniqueFd fd, uint64_t size, uint64_t offset) {
    if (!fd) {
        return make_error(EBADF, "dirty log came without a file descriptor");
    }
    if (size == 0 || size > kMaxSize) {
        return make_error(EINVAL, "dirty log of {:#x} bytes (1..{:#x} allowed)", size, kMaxSize);
    }
    if (offset % sizeof(uint64_t) != 0) {
        return make_error(EINVAL, "dirty log offset {:#x} is not 8-byte aligned", offset);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return errno_error("fstat on dirty log fd");
    }
    // A memfd is a regular file; anything else (a device, a socket) has no size to check.
    if (!S_ISREG(st.st_mode)) {
        return make_error(EINVAL, "dirty log fd is not a regular file or memfd");
    }
    // Written so that nothing can wrap: offset <= file size, then size within the rest.
    const auto file_size = static_cast<uint64_t>(st.st_size);
    if (offset > file_size || size > file_size - offset) {
        return make_error(EINVAL,
                          "dirty log (offset {:#x}, size {:#x}) extends past the end of its file "
                          "({:#x} bytes)",
                          offset, size, file_size);
    }
    const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    const uint64_t map_offset = offset & ~(page - 1);
    const uint64_t lead = offset - map_offset;
    const uint64_t map_length = (size + lead + page - 1) & ~(page - 1);
    void* base = ::mmap(nullptr, map_length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                        fd.get(), static_cast<off_t>(map_offset));
    if (base == MAP_FAILED) {
        return errno_error(
            fmt::format("mmap of dirty log (offset {:#x}, size {:#x})", offset, size));
    }
    ::madvise(base, map_length, MADV_DONTDUMP);
    auto guard = GuardedRange::add(base, map_length, page);
    if (!guard) {
        ::munmap(base, map_length);
        return std::unexpected(std::move(guard).error());
    }
    return Ptr(new DirtyLog(std::move(fd), base, map_length, static_cast<uint8_t*>(base) + lead,
                            size, std::move(*guard)));
}

DirtyLog::Ptr DirtyLog::borrow(void* bitmap, uint64_t size) {
    return Ptr(
        new DirtyLog(UniqueFd(), nullptr, 0, static_cast<uint8_t*>(bitmap), size, GuardedRange()));
}

DirtyLog::DirtyLog(UniqueFd fd, void* map_base, size_t map_length, uint8_t* bitmap, uint64_t size,
                   GuardedRange guard)
    : fd_(std::move(fd)),
      map_base_(map_base),
      map_length_(map_length),
      bitmap_(bitmap),
      size_(size),
      guard_(std::move(guard)) {}

DirtyLog::~DirtyLog() {
    guard_ = GuardedRange();  // out of the table before the range can be reused
    if (map_base_ != nullptr) {
        ::munmap(map_base_, map_length_);
    }
}

bool DirtyLog::covers(uint64_t gpa, uint64_t len) const {
    if (len == 0) {
        return true;
    }
    const uint64_t last = gpa + (len - 1);
    return last >= gpa && last / kPageSize < pages();
}

bool DirtyLog::mark(uint64_t gpa, uint64_t len) const noexcept {
    if (len == 0) {
        return true;
    }
    uint64_t last = gpa + (len - 1);
    bool whole = true;
    if (last < gpa) {  // the range wraps: mark up to the top of the address space
        last = UINT64_MAX;
        whole = false;
    }
    const uint64_t first_page = gpa / kPageSize;
    uint64_t last_page = last / kPageSize;
    if (first_page >= pages()) {
        misses_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    if (last_page >= pages()) {
        last_page = pages() - 1;
        whole = false;
    }
    // One atomic OR per 64 pages (256 KiB): a large read costs a few instructions.
    uint64_t page = first_page;
    while (page <= last_page) {
        const uint64_t word = page / 64;
        const uint64_t end = std::min(last_page, word * 64 + 63);
        const unsigned lo = page % 64;
        const unsigned hi = end % 64;
        const uint64_t upto = hi == 63 ? ~uint64_t{0} : (uint64_t{1} << (hi + 1)) - 1;
        or_word(word, upto & (~uint64_t{0} << lo));
        page = end + 1;  // end < pages() <= 2^33: no overflow
    }
    if (!whole) {
        misses_.fetch_add(1, std::memory_order_relaxed);
    }
    return whole;
}

void DirtyLog::or_word(uint64_t word, uint64_t mask) const noexcept {
    // Relaxed is enough: the used-ring store that publishes a completion is a release, and the
    // frontend reads the log only after stopping the rings (a message round trip).
    if ((word + 1) * sizeof(uint64_t) <= size_) {
        std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(bitmap_ + word * 8))
            .fetch_or(mask, std::memory_order_relaxed);
        return;
    }
    // The last, partial word of a log whose size is not a multiple of 8: byte by byte, never
    // past the end.
    for (uint64_t b = 0; b < sizeof(uint64_t) && word * 8 + b < size_; ++b) {
        const auto bits = static_cast<uint8_t>(mask >> (8 * b));
        if (bits != 0) {
            std::atomic_ref<uint8_t>(bitmap_[word * 8 + b])
                .fetch_or(bits, std::memory_order_relaxed);
        }
    }
}

}  // namespace vhostd::guest_memory

// Anonymous mapping for the malloc bdev.
#include "block/backends/malloc/malloc_memory.hpp"

#include <cstring>
#include <limits>

#include <sys/mman.h>
#include <unistd.h>

#include "base/log.hpp"

namespace vhostd::block {
namespace {

// Below this, memset is cheaper than madvise's syscall and TLB shootdown.
constexpr uint64_t kMadviseThreshold = uint64_t{1} << 20;
constexpr uint64_t kHugePage = uint64_t{2} << 20;

uint64_t page_size() {
    static const uint64_t size = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

}  // namespace

Result<std::shared_ptr<MallocMemory>> MallocMemory::allocate(uint64_t size) {
    if (size == 0 || size > std::numeric_limits<size_t>::max()) {
        return make_error(EINVAL, "cannot map {} bytes", size);
    }
    // No MAP_NORESERVE: a RAM disk larger than the host can back fails here, at creation,
    // rather than with SIGBUS or the OOM killer when the guest first writes to it.
    //
    // Huge pages first (fewer TLB misses per request): reserved hugetlb pages when the host
    // has them for the whole disk, else transparent huge pages by madvise (THP's "madvise"
    // mode, Debian's default), else small pages.
    if (size % kHugePage == 0) {
        void* huge = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
        if (huge != MAP_FAILED) {
            LOG_INFO(block, "RAM disk of {} bytes on reserved 2 MiB huge pages", size);
            return std::shared_ptr<MallocMemory>(
                new MallocMemory(static_cast<uint8_t*>(huge), size, kHugePage));
        }
    }
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return errno_error(fmt::format("mmap of {} bytes", size));
    }
    if (size >= kHugePage && ::madvise(p, size, MADV_HUGEPAGE) == 0) {
        LOG_DEBUG(block, "RAM disk of {} bytes: transparent huge pages requested", size);
    } else if (size >= kHugePage) {
        LOG_INFO(block, "RAM disk of {} bytes on 4 KiB pages (no huge pages: {})", size,
                 std::strerror(errno));
    }
    return std::shared_ptr<MallocMemory>(
        new MallocMemory(static_cast<uint8_t*>(p), size, page_size()));
}

MallocMemory::~MallocMemory() {
    ::munmap(data_, size_);
}

void MallocMemory::zero(uint64_t offset, uint64_t length) noexcept {
    if (length >= kMadviseThreshold) {
        // The mapping starts page-aligned, so offsets align exactly as addresses do (hugetlb
        // pages can only be given back whole).
        const uint64_t page = page_;
        const uint64_t begin = (offset + page - 1) / page * page;
        const uint64_t end = (offset + length) / page * page;
        // MADV_DONTNEED on private anonymous memory: the pages read back as zeroes.
        if (end > begin && ::madvise(data_ + begin, end - begin, MADV_DONTNEED) == 0) {
            std::memset(data_ + offset, 0, begin - offset);
            std::memset(data_ + end, 0, offset + length - end);
            return;
        }
    }
    std::memset(data_ + offset, 0, length);
}

}  // namespace vhostd::block

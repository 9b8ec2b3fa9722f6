// DirtyLog: every page of a marked range set and no other, bitmap bounds, concurrent markers,
// and the SET_LOG_BASE checks against hostile sizes and offsets.
#include "guest_memory/dirty_log.hpp"

#include <array>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_memory/guest_memory.hpp"

namespace vhostd::guest_memory {
namespace {

constexpr uint64_t kPage = DirtyLog::kPageSize;

bool bit(const std::vector<uint64_t>& words, uint64_t page) {
    return ((words[page / 64] >> (page % 64)) & 1) != 0;
}

// Pages set in `words`, in order.
std::vector<uint64_t> set_pages(const std::vector<uint64_t>& words) {
    std::vector<uint64_t> pages;
    for (uint64_t p = 0; p < words.size() * 64; ++p) {
        if (bit(words, p)) {
            pages.push_back(p);
        }
    }
    return pages;
}

TEST(DirtyLogTest, MarksExactlyThePagesOfARange) {
    // Ranges at every alignment around page and word boundaries: the set pages are exactly
    // those the range touches.
    const std::array<std::pair<uint64_t, uint64_t>, 9> cases{{
        {0, 1},
        {kPage - 1, 2},             // straddles pages 0 and 1
        {kPage, kPage},             // exactly page 1
        {63 * kPage + 100, kPage},  // pages 63 and 64: across a word
        {10 * kPage, 200 * kPage},  // several whole words
        {5, 64 * kPage},            // 65 pages from 0
        {255 * kPage, 1},           // the last page
        {128 * kPage - 1, 1},       // last byte of page 127
        {3 * kPage + 7, 0},         // empty: nothing
    }};
    for (const auto& [gpa, len] : cases) {
        std::vector<uint64_t> words(4);  // 256 pages
        auto log = DirtyLog::borrow(words.data(), words.size() * 8);
        EXPECT_TRUE(log->mark(gpa, len)) << gpa << "+" << len;
        std::vector<uint64_t> expected;
        if (len != 0) {
            for (uint64_t p = gpa / kPage; p <= (gpa + len - 1) / kPage; ++p) {
                expected.push_back(p);
            }
        }
        EXPECT_EQ(set_pages(words), expected) << gpa << "+" << len;
        EXPECT_EQ(log->misses(), 0U);
    }
}

TEST(DirtyLogTest, LayoutIsOneBitPerPageInBytes) {
    // vhost-user.rst: log[page / 8] |= 1 << page % 8.
    std::array<uint8_t, 16> bytes{};
    alignas(8) std::array<uint8_t, 16> storage{};
    auto log = DirtyLog::borrow(storage.data(), storage.size());
    for (uint64_t page : {0, 7, 8, 9, 63, 64, 100, 127}) {
        ASSERT_TRUE(log->mark(page * kPage + 5, 1));
        bytes[page / 8] |= static_cast<uint8_t>(1U << (page % 8));
    }
    EXPECT_EQ(std::memcmp(storage.data(), bytes.data(), bytes.size()), 0);
}

TEST(DirtyLogTest, NeverWritesPastTheEnd) {
    // A 13-byte log (104 pages) inside a guarded buffer: marks beyond it are refused and
    // counted, and the bytes after it stay untouched even for the partial last word.
    alignas(8) std::array<uint8_t, 32> storage{};
    auto log = DirtyLog::borrow(storage.data(), 13);
    EXPECT_EQ(log->pages(), 104U);
    EXPECT_TRUE(log->covers(0, 104 * kPage));
    EXPECT_FALSE(log->covers(0, 104 * kPage + 1));
    EXPECT_FALSE(log->covers(UINT64_MAX - 10, 20));  // wraps

    EXPECT_TRUE(log->mark(103 * kPage, kPage));  // the last page: byte 12, bit 7
    EXPECT_EQ(storage[12], 0x80);
    EXPECT_FALSE(log->mark(100 * kPage, 10 * kPage));  // partly past the end
    EXPECT_EQ(storage[12], 0xf0);                      // pages 100..103 marked
    EXPECT_FALSE(log->mark(104 * kPage, 1));           // wholly past the end
    EXPECT_FALSE(log->mark(UINT64_MAX - 5, 100));      // wraps the address space
    EXPECT_FALSE(log->mark(UINT64_MAX, UINT64_MAX));
    EXPECT_EQ(log->misses(), 4U);
    for (size_t i = 13; i < storage.size(); ++i) {
        EXPECT_EQ(storage[i], 0) << "byte " << i << " is past the log";
    }
}

TEST(DirtyLogTest, ConcurrentMarkersLoseNoBit) {
    // Two threads set interleaved pages of the same words: with atomic ORs every bit lands.
    std::vector<uint64_t> words(64);
    auto log = DirtyLog::borrow(words.data(), words.size() * 8);
    auto marker = [&](uint64_t parity) {
        for (int round = 0; round < 20; ++round) {
            for (uint64_t p = parity; p < words.size() * 64; p += 2) {
                log->mark(p * kPage, 1);
            }
        }
    };
    std::thread a(marker, 0);
    std::thread b(marker, 1);
    a.join();
    b.join();
    for (uint64_t w : words) {
        EXPECT_EQ(w, ~uint64_t{0});
    }
}

class DirtyLogMapTest : public ::testing::Test {
  protected:
    // A memfd of `size` bytes.
    static UniqueFd memfd(uint64_t size) {
        UniqueFd fd(::memfd_create("dirty-log-test", MFD_CLOEXEC));
        EXPECT_TRUE(fd.valid());
        EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(size)), 0);
        return fd;
    }
};

TEST_F(DirtyLogMapTest, MapsAndMarksTheSharedFile) {
    UniqueFd fd = memfd(3 * 4096);
    const int raw = fd.get();
    void* view = ::mmap(nullptr, 3 * 4096, PROT_READ, MAP_SHARED, raw, 0);
    ASSERT_NE(view, MAP_FAILED);
    {
        auto log = DirtyLog::map(UniqueFd(::dup(raw)), 4096, 4096 + 8);  // offset not page-aligned
        ASSERT_TRUE(log.has_value()) << log.error().describe();
        EXPECT_EQ((*log)->pages(), 4096U * 8);
        EXPECT_TRUE((*log)->mark(9 * kPage, 1));  // byte 1, bit 1 of the log
        EXPECT_FALSE((*log)->faulted());
    }
    const auto* bytes = static_cast<const uint8_t*>(view);
    EXPECT_EQ(bytes[4096 + 8 + 1], 0x02);
    EXPECT_EQ(bytes[4096 + 8], 0);
    ::munmap(view, 3 * 4096);
}

TEST_F(DirtyLogMapTest, RefusesHostileDescriptions) {
    const uint64_t file = 2 * 4096;
    struct Case {
        uint64_t size;
        uint64_t offset;
        const char* what;
    };
    const std::array<Case, 9> cases{{
        {0, 0, "empty"},
        {file + 8, 0, "larger than the file"},
        {8, file, "offset at the end"},
        {8, file + 4096, "offset past the end"},
        {4096, 4096 + 8, "ends past the file"},
        {UINT64_MAX, 8, "size wraps with the offset"},
        {16, UINT64_MAX - 7, "offset wraps with the size"},
        {DirtyLog::kMaxSize + 8, 0, "huge"},
        {64, 4, "offset not 8-byte aligned"},
    }};
    for (const Case& c : cases) {
        auto log = DirtyLog::map(memfd(file), c.size, c.offset);
        EXPECT_FALSE(log.has_value()) << c.what;
    }
    // Not a file: an eventfd has no size to check against.
    UniqueFd efd(::eventfd(0, EFD_CLOEXEC));
    EXPECT_FALSE(DirtyLog::map(std::move(efd), 8, 0).has_value());
    EXPECT_FALSE(DirtyLog::map(UniqueFd(), 8, 0).has_value());
    // The whole file is fine.
    EXPECT_TRUE(DirtyLog::map(memfd(file), file, 0).has_value());
}

TEST(GuestMemoryGpaOfTest, FindsTheRegionOfAHostAddress) {
    std::vector<uint8_t> a(0x2000);
    std::vector<uint8_t> b(0x1000);
    auto memory = GuestMemory::create({
        MappedRegion::borrow(a.data(), {0x1000, 0x2000, 0xa0000, 0}),
        MappedRegion::borrow(b.data(), {0x10000, 0x1000, 0xb0000, 0}),
    });
    ASSERT_TRUE(memory.has_value());
    EXPECT_EQ((*memory)->gpa_of(a.data() + 0x10, 0x100), 0x1010U);
    EXPECT_EQ((*memory)->gpa_of(b.data() + 0xfff, 1), 0x10fffU);
    EXPECT_FALSE((*memory)->gpa_of(b.data() + 0xfff, 2).has_value());  // runs past the region
    EXPECT_FALSE((*memory)->gpa_of(&memory, 1).has_value());           // not guest memory
    EXPECT_EQ((*memory)->gpa_end(), 0x11000U);
    EXPECT_EQ(GuestMemory::empty()->gpa_end(), 0U);
}

}  // namespace
}  // namespace vhostd::guest_memory

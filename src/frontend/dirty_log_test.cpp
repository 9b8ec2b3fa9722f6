// DirtyLog (frontend): sizing from the guest's highest address, the SET_LOG_BASE payload, and
// reading and clearing bits another mapping (the back-end's) sets.
#include "frontend/dirty_log.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>

namespace vhostd::frontend {
namespace {

TEST(FrontendDirtyLog, SizedInWholeWordsForTheGuestMemory) {
    auto log = DirtyLog::create(64 << 20, 16);  // 16384 pages: 2048 bytes
    ASSERT_TRUE(log.has_value());
    EXPECT_EQ(log->wire().mmap_size, 2048U);
    EXPECT_EQ(log->wire().mmap_offset, 16U);
    EXPECT_EQ(log->pages(), 16384U);
    auto odd = DirtyLog::create(4096 * 65 + 1);  // 66 pages: two words
    ASSERT_TRUE(odd.has_value());
    EXPECT_EQ(odd->wire().mmap_size, 16U);
    EXPECT_FALSE(DirtyLog::create(4096, 4).has_value());  // offset not 8-aligned
}

TEST(FrontendDirtyLog, ReadsAndClearsWhatTheBackEndSets) {
    auto log = DirtyLog::create(1 << 20, 8);
    ASSERT_TRUE(log.has_value());
    // The back-end's view: its own shared mapping of the same fd.
    const size_t length = 8 + log->wire().mmap_size;
    auto* view = static_cast<uint8_t*>(
        ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, log->fd(), 0));
    ASSERT_NE(view, MAP_FAILED);
    view[8 + 0] = 0x01;   // page 0
    view[8 + 1] = 0x80;   // page 15
    view[8 + 31] = 0x40;  // page 254
    EXPECT_TRUE(log->dirty(15));
    EXPECT_FALSE(log->dirty(14));
    EXPECT_FALSE(log->dirty(1U << 20));  // past the log
    EXPECT_EQ(log->dirty_pages(), (std::vector<uint64_t>{0, 15, 254}));
    EXPECT_EQ(log->take_dirty(), (std::vector<uint64_t>{0, 15, 254}));
    EXPECT_TRUE(log->dirty_pages().empty());
    EXPECT_EQ(view[8 + 1], 0);
    ::munmap(view, length);
}

}  // namespace
}  // namespace vhostd::frontend

// iovec helpers: copies across entry boundaries and in-place trimming.
#include "base/iovec.hpp"

#include <array>
#include <numeric>

#include <gtest/gtest.h>

namespace vhostd {
namespace {

struct ThreeBuffers {
    std::array<uint8_t, 3> a{};
    std::array<uint8_t, 0> b{};
    std::array<uint8_t, 5> c{};
    std::array<iovec, 3> iov{iovec{a.data(), a.size()}, iovec{b.data(), 0},
                             iovec{c.data(), c.size()}};
};

TEST(Iovec, CopyInAndOutAcrossEntries) {
    ThreeBuffers t;
    std::array<uint8_t, 8> src{};
    std::iota(src.begin(), src.end(), 1);
    EXPECT_EQ(iov_length(t.iov), 8U);
    EXPECT_EQ(iov_copy_in(t.iov, 0, src.data(), src.size()), 8U);
    EXPECT_EQ(t.c[0], 4);
    std::array<uint8_t, 4> out{};
    EXPECT_EQ(iov_copy_out(t.iov, 2, out.data(), out.size()), 4U);
    EXPECT_EQ(out, (std::array<uint8_t, 4>{3, 4, 5, 6}));
    // Past the end: only what exists is copied.
    EXPECT_EQ(iov_copy_out(t.iov, 6, out.data(), out.size()), 2U);
    EXPECT_EQ(iov_memset(t.iov, 7, 0, 10), 1U);
    EXPECT_EQ(t.c[4], 0);
}

TEST(Iovec, DropFrontAndBack) {
    ThreeBuffers t;
    auto rest = iov_drop_front(t.iov, 4);  // all of a, the empty b, one byte of c
    ASSERT_EQ(rest.size(), 1U);
    EXPECT_EQ(rest[0].iov_base, t.c.data() + 1);
    EXPECT_EQ(rest[0].iov_len, 4U);
    rest = iov_drop_back(rest, 1);
    EXPECT_EQ(iov_length(rest), 3U);
    rest = iov_drop_back(rest, 3);
    EXPECT_TRUE(rest.empty());
}

TEST(Iovec, DropFrontExactEntryBoundary) {
    ThreeBuffers t;
    auto rest = iov_drop_front(t.iov, 3);
    EXPECT_EQ(iov_length(rest), 5U);
    EXPECT_EQ(static_cast<uint8_t*>(rest.back().iov_base), t.c.data());
}

// The inline fast paths: everything asked for lies in the end entry.
TEST(Iovec, FastPathsWithinTheEndEntries) {
    ThreeBuffers t;
    std::array<uint8_t, 8> src{};
    std::iota(src.begin(), src.end(), 1);
    iov_copy_in(t.iov, 0, src.data(), src.size());
    std::array<uint8_t, 2> out{};
    EXPECT_EQ(iov_copy_out(t.iov, 1, out.data(), out.size()), 2U);  // a[1..2]
    EXPECT_EQ(out, (std::array<uint8_t, 2>{2, 3}));
    EXPECT_EQ(iov_copy_out(t.iov, 0, out.data(), 0), 0U);

    auto rest = iov_drop_front(t.iov, 1);  // part of a
    ASSERT_EQ(rest.size(), 3U);
    EXPECT_EQ(rest[0].iov_base, t.a.data() + 1);
    EXPECT_EQ(rest[0].iov_len, 2U);
    rest = iov_drop_back(rest, 5);  // exactly c
    ASSERT_EQ(rest.size(), 2U);
    EXPECT_EQ(iov_length(rest), 2U);
    rest = iov_drop_back(std::span(t.iov).first(1), 1);  // part of a
    ASSERT_EQ(rest.size(), 1U);
    EXPECT_EQ(rest[0].iov_len, 1U);
}

}  // namespace
}  // namespace vhostd

// CpuMask parsing: SPDK's hex and list forms, and rejection of malformed masks.
#include "base/cpu_mask.hpp"

#include <gtest/gtest.h>

namespace vhostd {
namespace {

TEST(CpuMask, ParsesHexWithAndWithoutPrefix) {
    EXPECT_EQ(CpuMask::parse("0x3")->cores(), (std::vector<unsigned>{0, 1}));
    EXPECT_EQ(CpuMask::parse("5")->cores(), (std::vector<unsigned>{0, 2}));
    EXPECT_EQ(CpuMask::parse("0x100")->cores(), (std::vector<unsigned>{8}));
}

TEST(CpuMask, ParsesLists) {
    EXPECT_EQ(CpuMask::parse("[0,2-3]")->cores(), (std::vector<unsigned>{0, 2, 3}));
    EXPECT_EQ(CpuMask::parse("[7]")->cores(), (std::vector<unsigned>{7}));
}

TEST(CpuMask, RejectsMalformed) {
    for (const char* bad : {"", "0x", "0xg", "[]", "[3-1]", "[a]", "[1,]", "0x0", "[5000]"}) {
        EXPECT_FALSE(CpuMask::parse(bad).has_value()) << bad;
    }
}

TEST(CpuMask, PrintsAsHex) {
    EXPECT_EQ(CpuMask::parse("[0,1]")->to_string(), "0x3");
    EXPECT_EQ(CpuMask::single(9).to_string(), "0x200");
    EXPECT_EQ(CpuMask::single(0).to_string(), "0x1");
}

TEST(CpuMask, Subset) {
    EXPECT_TRUE(CpuMask::single(1).subset_of(*CpuMask::parse("0x3")));
    EXPECT_FALSE(CpuMask::single(2).subset_of(*CpuMask::parse("0x3")));
}

}  // namespace
}  // namespace vhostd

// Factory parameter checks: names, block sizes, sizes that overflow.
#include "block/bdev_checks.hpp"

#include <string>

#include <gtest/gtest.h>

namespace vhostd::block {
namespace {

TEST(BdevChecks, NamesFollowTheSpdkStyleRules) {
    for (const char* ok : {"Malloc0", "Nvme0n1", "lvs0.lvol-1", "a:b_c", "x"}) {
        EXPECT_TRUE(check_bdev_name(ok).has_value()) << ok;
    }
    EXPECT_TRUE(check_bdev_name(std::string(kMaxBdevNameLength, 'a')).has_value());
    for (const std::string& bad :
         {std::string(), std::string(kMaxBdevNameLength + 1, 'a'), std::string("with space"),
          std::string("a/b"), std::string("new\nline"), std::string("quote\""),
          std::string("nul\0x", 5)}) {
        auto r = check_bdev_name(bad);
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_EQ(r.error().code, EINVAL);
    }
    EXPECT_EQ(check_bdev_name("").error().message, "bdev name must not be empty");
    EXPECT_NE(check_bdev_name("a b").error().message.find("0x20 at position 1"), std::string::npos);
}

TEST(BdevChecks, BlockSizesArePowersOfTwoFrom512) {
    for (uint32_t ok : {512U, 1024U, 2048U, 4096U, 65536U}) {
        EXPECT_TRUE(check_block_size("d", ok).has_value()) << ok;
    }
    for (uint32_t bad : {0U, 1U, 256U, 520U, 1000U, 4097U, 131072U}) {
        auto r = check_block_size("d", bad);
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_EQ(r.error().message, "bdev d: block_size " + std::to_string(bad) +
                                         " must be a power of two from 512 to 65536");
    }
}

TEST(BdevChecks, SizeMustBePositiveAndFitIn64Bits) {
    EXPECT_EQ(checked_size_bytes("d", 4096, 3).value(), 12288U);
    EXPECT_EQ(checked_size_bytes("d", 512, 0).error().message,
              "bdev d: num_blocks must be greater than 0");
    auto overflow = checked_size_bytes("d", 4096, UINT64_MAX / 4096 + 1);
    ASSERT_FALSE(overflow.has_value());
    EXPECT_EQ(overflow.error().code, EOVERFLOW);
}

}  // namespace
}  // namespace vhostd::block

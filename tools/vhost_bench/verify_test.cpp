// Verify stamps: a block checks against itself and fails as misplaced, stale or torn.
#include "verify.hpp"

#include <vector>

#include <gtest/gtest.h>

namespace vhostd::bench {
namespace {

TEST(Verify, StampedBlockPasses) {
    std::vector<std::byte> block(4096);
    stamp_block(block, 800, 7, 3);
    uint64_t bad = 0;
    EXPECT_EQ(check_block(block, 800, 7, 3, bad), VerifyError::none);
}

TEST(Verify, DetectsMisplacedStaleAndTornBlocks) {
    std::vector<std::byte> block(4096);
    stamp_block(block, 800, 7, 3);
    uint64_t bad = 0;
    EXPECT_EQ(check_block(block, 808, 7, 3, bad), VerifyError::misplaced);
    EXPECT_EQ(bad, 808U);
    EXPECT_EQ(check_block(block, 800, 7, 4, bad), VerifyError::stale);  // an older write
    EXPECT_EQ(check_block(block, 800, 8, 3, bad), VerifyError::stale);  // an earlier run

    // Torn: the second half of the block comes from another write.
    std::vector<std::byte> other(4096);
    stamp_block(other, 800, 7, 4);
    std::copy(other.begin() + 2048, other.end(), block.begin() + 2048);
    EXPECT_EQ(check_block(block, 800, 7, 3, bad), VerifyError::stale);
    EXPECT_EQ(bad, 804U);

    // Corrupt: one flipped byte inside a sector.
    stamp_block(block, 800, 7, 3);
    block[100] ^= std::byte{1};
    EXPECT_EQ(check_block(block, 800, 7, 3, bad), VerifyError::torn);
    EXPECT_EQ(bad, 800U);
}

TEST(Verify, MapTracksVersionsAndBusyUnits) {
    VerifyMap map(100, 4);
    EXPECT_EQ(map.version(101), VerifyMap::kUnwritten);
    EXPECT_EQ(map.next_version(101), 1U);
    map.set_busy(101, true);
    EXPECT_TRUE(map.busy(101));
    EXPECT_FALSE(map.busy(102));
    map.set_version(101, VerifyMap::kUnknown - 1);
    EXPECT_EQ(map.next_version(101), 1U);  // wraps past kUnknown
}

}  // namespace
}  // namespace vhostd::bench

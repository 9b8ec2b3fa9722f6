// Descriptor chain walking: well-formed chains, and every hostile shape a driver can build.
#include "virtio/descriptor_chain.hpp"

#include <array>

#include <gtest/gtest.h>

#include "support/fake_driver.hpp"

namespace vhostd::virtio {
namespace {

using testing::FakeDriver;
using testing::Segment;
using namespace desc_flags;

constexpr ChainLimits kLimits{.max_descriptors = 16, .max_total_bytes = 1 << 20};

class ChainTest : public ::testing::Test {
  protected:
    FakeDriver driver{16};
    std::array<iovec, 32> storage{};

    DescriptorChain walk(uint16_t head, bool indirect_ok = true, ChainLimits limits = kLimits) {
        SplitRing ring = driver.ring();
        return walk_chain(DescTable{ring.desc, ring.size}, head, *driver.memory(), limits,
                          indirect_ok, storage);
    }
};

TEST_F(ChainTest, DirectChainSplitsReadableAndWritable) {
    const uint64_t hdr = driver.alloc(16), data = driver.alloc(4096), status = driver.alloc(1);
    const uint16_t head = driver.submit({{hdr, 16, false}, {data, 4096, true}, {status, 1, true}});
    DescriptorChain chain = walk(head);
    EXPECT_EQ(chain.error, ChainError::none);
    EXPECT_EQ(chain.descriptors, 3U);
    EXPECT_EQ(chain.readable_bytes, 16U);
    EXPECT_EQ(chain.writable_bytes, 4097U);
    ASSERT_EQ(chain.readable().size(), 1U);
    EXPECT_EQ(chain.readable()[0].iov_base, driver.host(hdr));
    ASSERT_EQ(chain.writable().size(), 2U);
    EXPECT_EQ(chain.last.addr, status);
    EXPECT_TRUE(chain.last.writable);
}

TEST_F(ChainTest, IndirectChain) {
    const uint64_t hdr = driver.alloc(16), status = driver.alloc(1);
    const uint16_t head = driver.submit({{hdr, 16, false}, {status, 1, true}}, /*indirect=*/true);
    DescriptorChain chain = walk(head);
    EXPECT_EQ(chain.error, ChainError::none);
    EXPECT_EQ(chain.descriptors, 3U);  // the indirect descriptor plus two in the table
    EXPECT_EQ(chain.iov.size(), 2U);
    EXPECT_EQ(chain.last.addr, status);
}

TEST_F(ChainTest, BufferCrossingRegionsBecomesTwoIovecs) {
    FakeDriver split(16, 1 << 20, 1 << 19);
    const uint64_t boundary = FakeDriver::kRamBase + (1 << 19);
    const uint16_t head = split.submit({{boundary - 8, 16, true}});
    SplitRing ring = split.ring();
    DescriptorChain chain =
        walk_chain(DescTable{ring.desc, ring.size}, head, *split.memory(), kLimits, true, storage);
    EXPECT_EQ(chain.error, ChainError::none);
    ASSERT_EQ(chain.iov.size(), 2U);
    EXPECT_EQ(chain.iov[0].iov_len, 8U);
    EXPECT_EQ(chain.iov[1].iov_len, 8U);
}

TEST_F(ChainTest, LoopIsBounded) {
    const uint64_t buf = driver.alloc(16);
    driver.set_desc(0, buf, 16, kNext, 1);
    driver.set_desc(1, buf, 16, kNext, 0);
    EXPECT_EQ(walk(0).error, ChainError::too_many_descriptors);
}

TEST_F(ChainTest, SelfLoopInIndirectTableIsBounded) {
    const uint64_t buf = driver.alloc(16), table = driver.alloc(32);
    driver.set_indirect_desc(table, 0, buf, 16, kNext, 1);
    driver.set_indirect_desc(table, 1, buf, 16, kNext, 1);
    driver.set_desc(0, table, 32, kIndirect, 0);
    EXPECT_EQ(walk(0).error, ChainError::too_many_descriptors);
}

TEST_F(ChainTest, NextOutOfRange) {
    driver.set_desc(0, driver.alloc(16), 16, kNext, 16);
    EXPECT_EQ(walk(0).error, ChainError::bad_index);
    EXPECT_EQ(walk(16).error, ChainError::bad_index);
}

TEST_F(ChainTest, IndirectNextOutOfTable) {
    const uint64_t buf = driver.alloc(16), table = driver.alloc(32);
    driver.set_indirect_desc(table, 0, buf, 16, kNext, 2);
    driver.set_desc(0, table, 32, kIndirect, 0);
    EXPECT_EQ(walk(0).error, ChainError::bad_index);
}

TEST_F(ChainTest, NestedIndirect) {
    const uint64_t inner = driver.alloc(16), outer = driver.alloc(16);
    driver.set_indirect_desc(inner, 0, driver.alloc(16), 16, 0, 0);
    driver.set_indirect_desc(outer, 0, inner, 16, kIndirect, 0);
    driver.set_desc(0, outer, 16, kIndirect, 0);
    EXPECT_EQ(walk(0).error, ChainError::nested_indirect);
}

TEST_F(ChainTest, IndirectWithNext) {
    const uint64_t table = driver.alloc(16);
    driver.set_indirect_desc(table, 0, driver.alloc(16), 16, 0, 0);
    driver.set_desc(0, table, 16, kIndirect | kNext, 1);
    EXPECT_EQ(walk(0).error, ChainError::indirect_with_next);
}

TEST_F(ChainTest, BadIndirectTables) {
    const uint64_t table = driver.alloc(64);
    driver.set_desc(0, table, 15, kIndirect, 0);  // not a multiple of 16
    EXPECT_EQ(walk(0).error, ChainError::bad_indirect_table);
    driver.set_desc(0, table, 0, kIndirect, 0);  // empty
    EXPECT_EQ(walk(0).error, ChainError::bad_indirect_table);
    driver.set_desc(0, 0x10, 16, kIndirect, 0);  // outside guest RAM
    EXPECT_EQ(walk(0).error, ChainError::bad_indirect_table);
    driver.set_desc(0, table, 16 * 17, kIndirect, 0);  // more entries than the limit
    EXPECT_EQ(walk(0).error, ChainError::bad_indirect_table);
    driver.set_indirect_desc(table, 0, driver.alloc(16), 16, 0, 0);
    driver.set_desc(0, table, 16, kIndirect, 0);
    EXPECT_EQ(walk(0, /*indirect_ok=*/false).error, ChainError::bad_indirect_table);
    EXPECT_EQ(walk(0, true).error, ChainError::none);
}

TEST_F(ChainTest, BufferOutsideGuestRamIsRequestLevelAndKeepsLast) {
    const uint64_t status = driver.alloc(1);
    driver.set_desc(0, 0xdead0000, 512, kNext, 1);
    driver.set_desc(1, status, 1, kWrite, 0);
    DescriptorChain chain = walk(0);
    EXPECT_EQ(chain.error, ChainError::bad_address);
    EXPECT_FALSE(is_ring_error(chain.error));
    EXPECT_EQ(chain.last.addr, status);
    EXPECT_TRUE(chain.last.writable);
}

TEST_F(ChainTest, BufferRunningOffTheEndOfRam) {
    const uint64_t end = FakeDriver::kRamBase + (1 << 20);
    driver.set_desc(0, end - 8, 16, 0, 0);
    EXPECT_EQ(walk(0).error, ChainError::bad_address);
}

TEST_F(ChainTest, ReadableAfterWritable) {
    driver.submit({{driver.alloc(8), 8, true}, {driver.alloc(8), 8, false}});
    EXPECT_EQ(walk(0).error, ChainError::readable_after_writable);
}

TEST_F(ChainTest, TotalLengthIsCapped) {
    const uint64_t buf = driver.alloc(0x80000);
    for (uint16_t i = 0; i < 3; ++i) {
        driver.set_desc(i, buf, 0x80000, i < 2 ? kNext : 0, static_cast<uint16_t>(i + 1));
    }
    DescriptorChain chain = walk(0, true, ChainLimits{16, 0x100000});
    EXPECT_EQ(chain.error, ChainError::too_long);
    EXPECT_EQ(chain.descriptors, 3U);  // walked to the end to find the last descriptor
}

TEST_F(ChainTest, LengthsSummingPast32BitsDoNotWrap) {
    // Four maximal descriptors: 16 GiB in total. Sums are 64-bit, so nothing wraps to a small
    // length; the request fails at the request level and the walk still reaches the end.
    const uint64_t buf = driver.alloc(16);
    for (uint16_t i = 0; i < 4; ++i) {
        driver.set_desc(i, buf, 0xffffffff, i < 3 ? kNext : 0, static_cast<uint16_t>(i + 1));
    }
    DescriptorChain chain = walk(0, true, ChainLimits{16, 0xffffffffULL});
    EXPECT_NE(chain.error, ChainError::none);
    EXPECT_FALSE(is_ring_error(chain.error));
    EXPECT_EQ(chain.descriptors, 4U);
    EXPECT_EQ(chain.readable_bytes, 0U);
}

TEST_F(ChainTest, TooManySegmentsForStorage) {
    std::vector<Segment> segs;
    for (int i = 0; i < 8; ++i)
        segs.push_back({driver.alloc(8), 8, false});
    const uint16_t head = driver.submit(segs);
    SplitRing ring = driver.ring();
    std::array<iovec, 4> small{};
    DescriptorChain chain =
        walk_chain(DescTable{ring.desc, ring.size}, head, *driver.memory(), kLimits, true, small);
    EXPECT_EQ(chain.error, ChainError::too_many_segments);
}

TEST_F(ChainTest, ZeroLengthDescriptorIsHarmless) {
    driver.submit({{driver.alloc(8), 0, false}, {driver.alloc(1), 1, true}});
    DescriptorChain chain = walk(0);
    EXPECT_EQ(chain.error, ChainError::none);
    EXPECT_EQ(chain.readable_bytes, 0U);
    EXPECT_EQ(chain.iov.size(), 1U);
}

}  // namespace
}  // namespace vhostd::virtio

// GuestMemory: whole-length translation, region crossing, and table validation.
#include "guest_memory/guest_memory.hpp"

#include <array>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace vhostd::guest_memory {
namespace {

// Two adjacent regions [0x1000, 0x3000) and [0x3000, 0x4000), plus one at [0x10000, 0x11000).
class GuestMemoryTest : public ::testing::Test {
  protected:
    std::vector<uint8_t> a = std::vector<uint8_t>(0x2000);
    std::vector<uint8_t> b = std::vector<uint8_t>(0x1000);
    std::vector<uint8_t> c = std::vector<uint8_t>(0x1000);
    GuestMemory::Ptr mem;

    void SetUp() override {
        auto created = GuestMemory::create({
            MappedRegion::borrow(c.data(), {0x10000, 0x1000, 0xc0000, 0}),
            MappedRegion::borrow(a.data(), {0x1000, 0x2000, 0xa0000, 0}),
            MappedRegion::borrow(b.data(), {0x3000, 0x1000, 0xb0000, 0}),
        });
        ASSERT_TRUE(created.has_value());
        mem = *created;
    }
};

TEST_F(GuestMemoryTest, TranslatesWithinOneRegion) {
    std::array<iovec, 4> iov{};
    auto n = mem->translate(0x1010, 0x100, iov);
    ASSERT_TRUE(n.has_value());
    ASSERT_EQ(*n, 1U);
    EXPECT_EQ(iov[0].iov_base, a.data() + 0x10);
    EXPECT_EQ(iov[0].iov_len, 0x100U);
}

TEST_F(GuestMemoryTest, ARangeEndingAtTheRegionsEndIsOneIovec) {
    std::array<iovec, 4> iov{};
    auto n = mem->translate(0x2f00, 0x100, iov);  // a's last 256 bytes: the inline fast path
    ASSERT_TRUE(n.has_value());
    ASSERT_EQ(*n, 1U);
    EXPECT_EQ(iov[0].iov_base, a.data() + 0x1f00);
    EXPECT_EQ(iov[0].iov_len, 0x100U);
    // One byte further crosses into b: the general path, two iovecs.
    EXPECT_EQ(mem->translate(0x2f00, 0x101, iov).value(), 2U);
    // Inside one region but no room for an iovec.
    EXPECT_EQ(mem->translate(0x1000, 1, std::span<iovec>{}).error(),
              TranslateError::too_many_segments);
}

TEST_F(GuestMemoryTest, SplitsAcrossAdjacentRegions) {
    std::array<iovec, 4> iov{};
    auto n = mem->translate(0x2ff0, 0x20, iov);
    ASSERT_TRUE(n.has_value());
    ASSERT_EQ(*n, 2U);
    EXPECT_EQ(iov[0].iov_base, a.data() + 0x1ff0);
    EXPECT_EQ(iov[0].iov_len, 0x10U);
    EXPECT_EQ(iov[1].iov_base, b.data());
    EXPECT_EQ(iov[1].iov_len, 0x10U);
}

TEST_F(GuestMemoryTest, RefusesRangesThatLeaveGuestRam) {
    std::array<iovec, 4> iov{};
    // Runs off the end of b into the hole before c.
    EXPECT_EQ(mem->translate(0x3ff0, 0x20, iov).error(), TranslateError::out_of_range);
    // Starts in a hole.
    EXPECT_EQ(mem->translate(0x0, 1, iov).error(), TranslateError::out_of_range);
    EXPECT_EQ(mem->translate(0x11000, 1, iov).error(), TranslateError::out_of_range);
    // Wraps around the 64-bit address space.
    EXPECT_EQ(mem->translate(0x1000, std::numeric_limits<uint64_t>::max(), iov).error(),
              TranslateError::out_of_range);
    EXPECT_EQ(mem->translate(std::numeric_limits<uint64_t>::max(), 2, iov).error(),
              TranslateError::out_of_range);
}

TEST_F(GuestMemoryTest, ReportsTooFewIovecs) {
    std::array<iovec, 1> iov{};
    EXPECT_EQ(mem->translate(0x2ff0, 0x20, iov).error(), TranslateError::too_many_segments);
}

TEST_F(GuestMemoryTest, ZeroLengthNeedsNoIovec) {
    EXPECT_EQ(mem->translate(0x1000, 0, std::span<iovec>{}).value(), 0U);
}

TEST_F(GuestMemoryTest, HostAddressRequiresOneRegion) {
    EXPECT_EQ(mem->host_address(0x1000, 0x2000), a.data());
    EXPECT_EQ(mem->host_address(0x2ff0, 0x20), nullptr);  // crosses into b
    EXPECT_EQ(mem->host_address(0x4000, 1), nullptr);
    EXPECT_EQ(mem->host_address(0x1000, std::numeric_limits<uint64_t>::max()), nullptr);
}

TEST_F(GuestMemoryTest, TranslatesFrontendVirtualAddresses) {
    EXPECT_EQ(mem->host_address_from_user(0xb0010, 0x10), b.data() + 0x10);
    EXPECT_EQ(mem->host_address_from_user(0xb0ff0, 0x20), nullptr);
    EXPECT_EQ(mem->host_address_from_user(0x1000, 1), nullptr);
}

TEST_F(GuestMemoryTest, RefusesOverlappingRegions) {
    std::vector<uint8_t> d(0x1000);
    EXPECT_FALSE(
        mem->with_region(MappedRegion::borrow(d.data(), {0x3800, 0x1000, 0xd0000, 0})).has_value());
    // Same gpa space is fine, but the frontend address overlaps a.
    EXPECT_FALSE(mem->with_region(MappedRegion::borrow(d.data(), {0x20000, 0x1000, 0xa1000, 0}))
                     .has_value());
}

TEST_F(GuestMemoryTest, CopyOnWriteEditsLeaveTheOldSnapshotIntact) {
    std::vector<uint8_t> d(0x1000);
    auto grown = mem->with_region(MappedRegion::borrow(d.data(), {0x20000, 0x1000, 0xd0000, 0}));
    ASSERT_TRUE(grown.has_value());
    EXPECT_EQ((*grown)->regions().size(), 4U);
    EXPECT_EQ(mem->regions().size(), 3U);
    EXPECT_NE((*grown)->host_address(0x20000, 1), nullptr);
    EXPECT_EQ(mem->host_address(0x20000, 1), nullptr);

    auto shrunk = (*grown)->without_region({0x1000, 0x2000, 0xa0000, 0});
    ASSERT_TRUE(shrunk.has_value());
    EXPECT_EQ((*shrunk)->host_address(0x1000, 1), nullptr);
    EXPECT_FALSE((*shrunk)->without_region({0x1000, 0x2000, 0xa0000, 0}).has_value());
}

TEST(GuestMemory, EnforcesSlotLimit) {
    std::vector<uint8_t> page(16);
    std::vector<GuestMemory::RegionPtr> regions;
    for (uint64_t i = 0; i <= GuestMemory::kMaxRegions; ++i) {
        regions.push_back(MappedRegion::borrow(page.data(), {i * 16, 16, i * 16, 0}));
    }
    EXPECT_FALSE(GuestMemory::create(regions).has_value());
    regions.pop_back();
    EXPECT_TRUE(GuestMemory::create(regions).has_value());
}

// Tables of a few regions are scanned, larger ones searched: both find the same regions and
// refuse the same holes.
TEST(GuestMemory, ManyRegionsTranslateLikeFew) {
    std::vector<uint8_t> pages(64 * 0x100);
    for (size_t count : {3, 8, 9, 64}) {
        std::vector<GuestMemory::RegionPtr> regions;
        for (uint64_t i = 0; i < count; ++i) {
            // 0x100-byte regions every 0x200 bytes: a hole after each.
            regions.push_back(MappedRegion::borrow(
                &pages[i * 0x100], {0x1000 + i * 0x200, 0x100, 0x100000 + i * 0x200, 0}));
        }
        auto mem = GuestMemory::create(std::move(regions));
        ASSERT_TRUE(mem.has_value());
        for (uint64_t i = 0; i < count; ++i) {
            const uint64_t gpa = 0x1000 + i * 0x200;
            EXPECT_EQ((*mem)->host_address(gpa + 0x10, 0xf0), &pages[i * 0x100 + 0x10]) << count;
            EXPECT_EQ((*mem)->host_address(gpa + 0x100, 1), nullptr) << "hole, " << count;
            EXPECT_EQ((*mem)->host_address(gpa + 0x10, 0xf1), nullptr) << "into the hole";
        }
        EXPECT_EQ((*mem)->host_address(0xfff, 1), nullptr) << "below the first, " << count;
        EXPECT_EQ((*mem)->host_address(0x1000 + count * 0x200, 1), nullptr) << "past the last";
        std::array<iovec, 2> out{};
        EXPECT_FALSE((*mem)->translate(0x10f0, 0x20, out).has_value()) << "across a hole";
    }
}

}  // namespace
}  // namespace vhostd::guest_memory

// build_prps: PRP1/PRP2, lists, offsets and the refusals.
#include "frontend/nvme_prp.hpp"

#include <array>

#include <gtest/gtest.h>

namespace vhostd::frontend {
namespace {

constexpr uint32_t kPage = 4096;

// PRPs of [gpa, gpa + length) without a list page: exactly `prp1` and `prp2`.
void expect_prps(uint64_t gpa, uint64_t length, uint64_t prp1, uint64_t prp2) {
    auto p = build_prps(gpa, length, kPage, {});
    ASSERT_TRUE(p) << p.error().describe();
    EXPECT_EQ(p->prp1, prp1);
    EXPECT_EQ(p->prp2, prp2);
}

TEST(NvmePrp, OnePageNeedsOnlyPrp1) {
    expect_prps(0x10000, 4096, 0x10000, 0);
    expect_prps(0x10200, 512, 0x10200, 0);
}

TEST(NvmePrp, TwoPagesPutTheSecondPageInPrp2) {
    expect_prps(0x10000, 8192, 0x10000, 0x11000);
    // An offset buffer of one page's size crosses into the next page.
    expect_prps(0x10800, 4096, 0x10800, 0x11000);
}

TEST(NvmePrp, MoreThanTwoPagesUseTheList) {
    std::array<uint64_t, kPage / 8> list{};
    const PrpListPage page{list.data(), 0x80000};
    auto p = build_prps(0x10800, 3 * 4096, kPage, page);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->prp1, 0x10800u);
    EXPECT_EQ(p->prp2, 0x80000u);
    // 2048 bytes in the first page, then 0x11000, 0x12000 and 0x13000 (2048 bytes).
    EXPECT_EQ(list[0], 0x11000u);
    EXPECT_EQ(list[1], 0x12000u);
    EXPECT_EQ(list[2], 0x13000u);
}

TEST(NvmePrp, AFullListFitsAndOneMoreEntryIsRefused) {
    std::array<uint64_t, kPage / 8> list{};
    const PrpListPage page{list.data(), 0x80000};
    // First page in PRP1, then 512 list entries.
    auto p = build_prps(0x100000, uint64_t{513} * kPage, kPage, page);
    ASSERT_TRUE(p);
    EXPECT_EQ(list[511], 0x100000u + 512 * kPage);
    EXPECT_EQ(build_prps(0x100000, uint64_t{514} * kPage, kPage, page).error().code, E2BIG);
}

TEST(NvmePrp, RefusesWhatPrpsCannotDescribe) {
    EXPECT_EQ(build_prps(0x10000, 0, kPage, {}).error().code, EINVAL);
    EXPECT_EQ(build_prps(0x10002, 512, kPage, {}).error().code, EINVAL);  // not dword aligned
    EXPECT_EQ(build_prps(~uint64_t{0} - 3, 8, kPage, {}).error().code, EINVAL);  // wraps
    EXPECT_EQ(build_prps(0x10000, 3 * 4096, kPage, {}).error().code, E2BIG);     // no list page
    std::array<uint64_t, kPage / 8> list{};
    EXPECT_EQ(build_prps(0x10000, 3 * 4096, kPage, {list.data(), 0x80010}).error().code,
              E2BIG);  // list page not page aligned
    EXPECT_EQ(build_prps(0x10000, 512, 3000, {}).error().code, EINVAL);
}

}  // namespace
}  // namespace vhostd::frontend

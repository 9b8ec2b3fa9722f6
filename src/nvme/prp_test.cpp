// PRP walker with hostile input: PRP1 alone, PRP1 + PRP2, PRP lists with offsets, chained
// list pages, every misaligned offset, lists and pages outside guest memory, a list that
// points at itself, addresses that wrap at 2^64, and more pieces than a request can carry.
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "nvme/data_pointer.hpp"
#include "support/nvme_driver.hpp"

namespace vhostd::nvme {
namespace {

using testing::GuestRam;
constexpr uint32_t kPage = 4096;

class PrpTest : public ::testing::Test {
  protected:
    GuestRam ram{8 << 20};
    std::vector<iovec> iov = std::vector<iovec>(64);

    std::expected<size_t, Status> map(uint64_t prp1, uint64_t prp2, uint64_t length) {
        return map_prps(*ram.memory(), prp1, prp2, length, kPage, iov);
    }
    void put_list(uint64_t list, std::vector<uint64_t> entries) {
        std::memcpy(ram.host(list), entries.data(), entries.size() * 8);
    }
    uint64_t total(size_t n) const {
        uint64_t sum = 0;
        for (size_t i = 0; i < n; ++i) {
            sum += iov[i].iov_len;
        }
        return sum;
    }
};

TEST_F(PrpTest, FirstEntryAloneWithAnOffset) {
    const uint64_t page = ram.alloc(kPage);
    auto n = map(page + 512, 0, 1024);
    ASSERT_TRUE(n.has_value());
    ASSERT_EQ(*n, 1u);
    EXPECT_EQ(iov[0].iov_base, ram.host(page + 512));
    EXPECT_EQ(iov[0].iov_len, 1024u);
    EXPECT_EQ(map(page, 0, 0).value(), 0u);  // no data
}

TEST_F(PrpTest, TwoPagesThroughPrp2) {
    const uint64_t a = ram.alloc(kPage);
    ram.alloc(kPage);  // a gap, so the pages are not contiguous
    const uint64_t b = ram.alloc(kPage);
    auto n = map(a + 3072, b, 2048);
    ASSERT_TRUE(n.has_value());
    ASSERT_EQ(*n, 2u);
    EXPECT_EQ(iov[0].iov_len, 1024u);
    EXPECT_EQ(iov[1].iov_base, ram.host(b));
    EXPECT_EQ(iov[1].iov_len, 1024u);
}

TEST_F(PrpTest, ContiguousPagesMergeIntoOneIovec) {
    const uint64_t a = ram.alloc(2 * kPage);
    EXPECT_EQ(map(a, a + kPage, 2 * kPage).value(), 1u);
    EXPECT_EQ(iov[0].iov_len, 2 * kPage);
}

TEST_F(PrpTest, ListWithOffsetAndChainedListPage) {
    // 600 pages: the first list page holds 511 data entries and a chain pointer (the list
    // starts at offset 0 of its page), the chained page the rest.
    const uint64_t data = ram.alloc(601 * kPage);
    const uint64_t list1 = ram.alloc(kPage);
    const uint64_t list2 = ram.alloc(kPage);
    std::vector<uint64_t> first;
    for (uint64_t i = 1; i <= 511; ++i) {
        first.push_back(data + i * kPage);
    }
    first.push_back(list2);
    put_list(list1, first);
    std::vector<uint64_t> second;
    for (uint64_t i = 512; i < 600; ++i) {
        second.push_back(data + i * kPage);
    }
    put_list(list2, second);
    auto n = map(data, list1, 600ull * kPage);
    ASSERT_TRUE(n.has_value()) << n.error();
    EXPECT_EQ(*n, 1u);  // all contiguous in host memory
    EXPECT_EQ(total(*n), 600ull * kPage);
}

TEST_F(PrpTest, ListPointerWithAnOffsetUsesTheRestOfItsPage) {
    const uint64_t data = ram.alloc(5 * kPage);
    const uint64_t list = ram.alloc(kPage);
    const uint64_t list2 = ram.alloc(kPage);
    // Slots left in the first list page from offset 4072: three, so four more pages need two
    // data entries and a chain to the next list page.
    put_list(list + 4072, {data + kPage, data + 2 * kPage, list2});
    put_list(list2, {data + 3 * kPage, data + 4 * kPage});
    auto n = map(data, list + 4072, 5 * kPage);
    ASSERT_TRUE(n.has_value()) << n.error();
    EXPECT_EQ(total(*n), 5ull * kPage);
    EXPECT_EQ(*n, 1u);
}

TEST_F(PrpTest, MisalignedOffsetsAreRefused) {
    const uint64_t data = ram.alloc(4 * kPage);
    const uint64_t list = ram.alloc(kPage);
    EXPECT_EQ(map(data + 2, 0, 512).error(), status::kPrpOffsetInvalid);  // PRP1 not dword
    EXPECT_EQ(map(data, data + kPage + 8, 2 * kPage).error(), status::kPrpOffsetInvalid);
    EXPECT_EQ(map(data, list + 4, 3 * kPage).error(), status::kPrpOffsetInvalid);  // list ptr
    put_list(list, {data + kPage, data + 2 * kPage + 512});
    EXPECT_EQ(map(data, list, 3 * kPage).error(), status::kPrpOffsetInvalid);  // list entry
    // The last qword of a page as list pointer leaves no data slot before the chain.
    EXPECT_EQ(map(data, list + kPage - 8, 4 * kPage).error(), status::kPrpOffsetInvalid);
}

TEST_F(PrpTest, ChainPointerMustBePageAligned) {
    const uint64_t data = ram.alloc(600 * kPage);
    const uint64_t list = ram.alloc(kPage);
    std::vector<uint64_t> first(512, data);
    for (uint64_t i = 0; i < 511; ++i) {
        first[i] = data + (i + 1) * kPage;
    }
    first[511] = list + 8;  // chain into the middle of a page
    put_list(list, first);
    EXPECT_EQ(map(data, list, 600ull * kPage).error(), status::kPrpOffsetInvalid);
}

TEST_F(PrpTest, AddressesOutsideGuestMemoryFail) {
    const uint64_t data = ram.alloc(kPage);
    const uint64_t list = ram.alloc(kPage);
    EXPECT_EQ(map(0x1000, 0, 512).error(), status::kDataTransferError);
    EXPECT_EQ(map(ram.end() - 512, 0, 1024).error(), status::kDataTransferError);  // runs off
    EXPECT_EQ(map(data, 0x1000, 2 * kPage).error(), status::kDataTransferError);
    EXPECT_EQ(map(data, ram.end(), 3 * kPage).error(), status::kDataTransferError);  // list
    put_list(list, {0xfffffffffffff000ull, data});
    EXPECT_EQ(map(data, list, 3 * kPage).error(), status::kDataTransferError);
}

TEST_F(PrpTest, AddressesThatWrapAt2To64Fail) {
    EXPECT_EQ(map(0xfffffffffffffc00ull, 0, 2048).error(), status::kDataTransferError);
    const uint64_t data = ram.alloc(kPage);
    EXPECT_EQ(map(data, 0xfffffffffffff000ull, 2 * kPage).error(), status::kDataTransferError);
}

TEST_F(PrpTest, ListPointingAtItselfEndsWithTheTransfer) {
    // Every chain pointer names the same list page: the walk is bounded by the length.
    const uint64_t list = ram.alloc(kPage);
    std::vector<uint64_t> entries(512, list);
    put_list(list, entries);
    std::vector<iovec> many(2100);
    auto n = map_prps(*ram.memory(), list, list, 2000ull * kPage, kPage, many);
    ASSERT_TRUE(n.has_value()) << n.error();
    EXPECT_EQ(*n, 2000u);
    // With the usual per-request array it ends as soon as the pieces do not fit.
    EXPECT_EQ(map(list, list, 2000ull * kPage).error(), status::kDataTransferError);
}

TEST_F(PrpTest, MorePiecesThanTheRequestCarriesFail) {
    // 100 separate pages into 64 iovecs (every other page, so nothing merges).
    const uint64_t data = ram.alloc(200 * kPage);
    const uint64_t list = ram.alloc(kPage);
    std::vector<uint64_t> entries;
    for (uint64_t i = 1; i < 100; ++i) {
        entries.push_back(data + 2 * i * kPage);
    }
    put_list(list, entries);
    EXPECT_EQ(map(data, list, 100ull * kPage).error(), status::kDataTransferError);
}

TEST(DataPointer, PsdtSelectsTheWalkerAndAdminCommandsRefuseSgls) {
    GuestRam ram(1 << 20);
    const uint64_t buffer = ram.alloc(4096);
    std::vector<iovec> iov(8);
    nvme_spec::Command c{};
    c.dptr1 = buffer;
    DataPointerLimits limits{.allow_sgl = false};
    EXPECT_EQ(map_data(*ram.memory(), c, 4096, iov, limits).value(), 1u);
    c.flags = static_cast<uint8_t>(nvme_spec::kPsdtSglMptrContiguous << nvme_spec::kPsdtShift);
    EXPECT_EQ(map_data(*ram.memory(), c, 4096, iov, limits).error(), status::kInvalidField);
    limits.allow_sgl = true;
    nvme_spec::SglDescriptor d{.address = buffer, .length = 4096, .reserved = {}, .identifier = 0};
    std::memcpy(&c.dptr1, &d, sizeof(d));
    EXPECT_EQ(map_data(*ram.memory(), c, 4096, iov, limits).value(), 1u);
    c.flags = static_cast<uint8_t>(3 << nvme_spec::kPsdtShift);  // reserved
    EXPECT_EQ(map_data(*ram.memory(), c, 4096, iov, limits).error(), status::kInvalidField);
}

}  // namespace
}  // namespace vhostd::nvme

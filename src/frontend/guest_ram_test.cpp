// Tests for GuestRam: layout, translation, allocation, and that the memfds hold what this
// process writes (what a back-end mapping the fds sees).
#include "frontend/guest_ram.hpp"

#include <cstring>

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

namespace vhostd::frontend {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

// Maps a region's fd independently, as the back-end would, and returns a byte of it.
uint8_t peek_fd(const GuestRam::Region& r, uint64_t offset_in_region) {
    void* map = ::mmap(nullptr, r.mmap_offset + r.size, PROT_READ, MAP_SHARED, r.fd, 0);
    EXPECT_NE(map, MAP_FAILED);
    const uint8_t value = static_cast<uint8_t*>(map)[r.mmap_offset + offset_in_region];
    ::munmap(map, r.mmap_offset + r.size);
    return value;
}

TEST(GuestRam, SingleRegionAllocatesAlignedBuffersWithTheirGpa) {
    auto ram = GuestRam::create(4 * kMiB, 0x100000);
    ASSERT_TRUE(ram) << ram.error().describe();
    ASSERT_EQ(ram->regions().size(), 1U);
    EXPECT_EQ(ram->regions()[0].gpa, 0x100000U);

    auto a = ram->alloc(100, 64);
    auto b = ram->alloc(10, 4096);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->gpa, 0x100000U);
    EXPECT_EQ(b->gpa % 4096, 0U);
    EXPECT_GE(b->gpa, a->gpa + 100);
    EXPECT_EQ(ram->host(b->gpa, b->size), b->host);
    EXPECT_EQ(ram->gpa_of(b->host), b->gpa);
    EXPECT_EQ(ram->remaining(), 0x100000U + 4 * kMiB - (b->gpa + 10));
}

TEST(GuestRam, ExhaustionAndBadRequestsFail) {
    auto ram = GuestRam::create(64 * 1024);
    ASSERT_TRUE(ram);
    EXPECT_EQ(ram->alloc(0).error().code, EINVAL);
    EXPECT_EQ(ram->alloc(16, 3).error().code, EINVAL);
    EXPECT_TRUE(ram->alloc(64 * 1024));
    EXPECT_EQ(ram->alloc(1).error().code, ENOMEM);
}

TEST(GuestRam, WritesLandInTheMemfdAtTheAdvertisedOffset) {
    GuestRam::Options options;
    options.regions = {{0, kMiB}, {kMiB, kMiB}};
    options.fd_offset = 2 * 4096;
    auto ram = GuestRam::create(options);
    ASSERT_TRUE(ram) << ram.error().describe();
    const auto regions = ram->regions();
    ASSERT_EQ(regions.size(), 2U);
    EXPECT_NE(regions[0].fd, regions[1].fd);
    EXPECT_EQ(regions[0].mmap_offset, 2 * 4096U);
    EXPECT_EQ(regions[1].mmap_offset, 2 * 4096U);

    ram->host(kMiB + 5)[0] = 0xab;
    EXPECT_EQ(peek_fd(regions[1], 5), 0xab);

    const auto wire = regions[1].wire();
    EXPECT_EQ(wire.guest_phys_addr, kMiB);
    EXPECT_EQ(wire.memory_size, kMiB);
    EXPECT_EQ(wire.userspace_addr, reinterpret_cast<uint64_t>(regions[1].host));
    EXPECT_EQ(wire.mmap_offset, 2 * 4096U);
    EXPECT_EQ(ram->wire_regions().size(), 2U);
}

TEST(GuestRam, SharedFdPlacesRegionsAtIncreasingOffsets) {
    GuestRam::Options options;
    options.regions = {{0x10000000, kMiB}, {0x10000000 + kMiB, 2 * kMiB}};
    options.shared_fd = true;
    options.fd_offset = 4096;
    auto ram = GuestRam::create(options);
    ASSERT_TRUE(ram) << ram.error().describe();
    const auto regions = ram->regions();
    EXPECT_EQ(regions[0].fd, regions[1].fd);
    EXPECT_EQ(regions[0].mmap_offset, 4096U);
    EXPECT_EQ(regions[1].mmap_offset, 4096U + kMiB);
    ram->host(0x10000000 + kMiB + 7)[0] = 0x5a;
    EXPECT_EQ(peek_fd(regions[1], 7), 0x5a);
}

TEST(GuestRam, AllocationsStayInOneRegionUnlessAskedToStraddle) {
    GuestRam::Options options;
    options.regions = {{0, 64 * 1024}, {64 * 1024, 64 * 1024}};
    auto ram = GuestRam::create(options);
    ASSERT_TRUE(ram);

    auto across = ram->alloc_across(0, 8192, 512);
    ASSERT_TRUE(across) << across.error().describe();
    EXPECT_EQ(across->gpa, 64 * 1024U - 512);
    // Host-contiguous here although the back-end sees two mappings.
    std::memset(across->host, 0x77, across->size);
    EXPECT_EQ(peek_fd(ram->regions()[0], 64 * 1024 - 1), 0x77);
    EXPECT_EQ(peek_fd(ram->regions()[1], 0), 0x77);

    // The allocator moved past the straddling buffer.
    auto next = ram->alloc(16);
    ASSERT_TRUE(next);
    EXPECT_GE(next->gpa, across->gpa + across->size);
    EXPECT_FALSE(ram->alloc_across(0, 1024, 512));  // already passed

    // What is left lies in region 1 only.
    auto fill = ram->alloc(ram->remaining(), 1);
    ASSERT_TRUE(fill) << fill.error().describe();
    EXPECT_EQ(ram->remaining(), 0U);
    EXPECT_EQ(ram->alloc(1).error().code, ENOMEM);
}

TEST(GuestRam, AllocSkipsToTheNextRegionRatherThanStraddling) {
    GuestRam::Options options;
    options.regions = {{0, 64 * 1024}, {64 * 1024, 64 * 1024}};
    auto ram = GuestRam::create(options);
    ASSERT_TRUE(ram);
    ASSERT_TRUE(ram->alloc(60 * 1024));
    auto b = ram->alloc(8 * 1024);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->gpa, 64 * 1024U);
}

TEST(GuestRam, HolesAreNotRam) {
    GuestRam::Options options;
    options.regions = {{0, 64 * 1024}, {1024 * 1024, 64 * 1024}};
    auto ram = GuestRam::create(options);
    ASSERT_TRUE(ram);
    EXPECT_NE(ram->host(0, 64 * 1024), nullptr);
    EXPECT_EQ(ram->host(0, 64 * 1024 + 1), nullptr);
    EXPECT_EQ(ram->host(512 * 1024), nullptr);
    EXPECT_NE(ram->host(1024 * 1024 + 10, 100), nullptr);
    EXPECT_EQ(ram->view(64 * 1024 - 8, 16).error().code, EFAULT);
    EXPECT_EQ(ram->alloc_across(0, 1024, 512).error().code, EINVAL);  // not adjacent
    EXPECT_EQ(ram->host(UINT64_MAX - 4, 10), nullptr);
}

TEST(GuestRam, RejectsBadLayouts) {
    GuestRam::Options options;
    EXPECT_FALSE(GuestRam::create(options));  // no regions
    options.regions = {{0, 8192}, {4096, 8192}};
    EXPECT_FALSE(GuestRam::create(options));  // overlap
    options.regions = {{0, 0}};
    EXPECT_FALSE(GuestRam::create(options));  // empty
    options.regions = {{100, 4096}};
    EXPECT_FALSE(GuestRam::create(options));  // misaligned
    options.regions = {{0, 4096}};
    options.fd_offset = 10;
    EXPECT_FALSE(GuestRam::create(options));
}

TEST(GuestRam, HugetlbFallsBackToOrdinaryPages) {
    GuestRam::Options options;
    options.regions = {{0, 4 * kMiB}};
    options.hugetlb = true;
    auto ram = GuestRam::create(options);
    ASSERT_TRUE(ram) << ram.error().describe();
    EXPECT_EQ(ram->page_size(), ram->hugetlb() ? 2 * kMiB : 4096U);
    ram->host(0, 4 * kMiB)[4 * kMiB - 1] = 1;
}

TEST(GuestRam, MoveKeepsTheMapping) {
    auto ram = GuestRam::create(kMiB);
    ASSERT_TRUE(ram);
    auto buf = ram->alloc(16);
    ASSERT_TRUE(buf);
    buf->host[0] = 9;
    GuestRam moved = std::move(*ram);
    EXPECT_EQ(moved.host(buf->gpa)[0], 9);
    EXPECT_EQ(moved.regions().size(), 1U);
}

}  // namespace
}  // namespace vhostd::frontend

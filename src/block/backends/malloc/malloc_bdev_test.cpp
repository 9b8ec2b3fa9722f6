// Malloc bdev: parameters, geometry, description, and zeroing of large unaligned ranges.
#include "block/backends/malloc/malloc_bdev.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "block/backends/malloc/malloc_memory.hpp"
#include "support/block_io.hpp"

namespace vhostd::block {
namespace {

TEST(MallocBdev, CreatesWithGeometryCapabilitiesAndDescription) {
    auto bdev =
        bdev_malloc_create({"Malloc0", 256, 4096, "0123456789ab-cdef-4123-8123-0123456789ab"});
    ASSERT_FALSE(bdev.has_value());  // dashes in the wrong places
    EXPECT_EQ(bdev.error().message.rfind("bdev Malloc0: invalid UUID", 0), 0U)
        << bdev.error().message;

    bdev = bdev_malloc_create({"Malloc0", 256, 4096, "01234567-89ab-4def-8123-0123456789ab"});
    ASSERT_TRUE(bdev.has_value()) << bdev.error().describe();
    const Bdev& b = **bdev;
    EXPECT_EQ(b.name(), "Malloc0");
    EXPECT_EQ(b.product_name(), "Malloc disk");
    EXPECT_EQ(b.block_size(), 4096U);
    EXPECT_EQ(b.num_blocks(), 256U);
    EXPECT_EQ(b.size_bytes(), 256U * 4096);
    EXPECT_FALSE(b.capabilities().flush);
    EXPECT_TRUE(b.capabilities().discard);
    EXPECT_TRUE(b.capabilities().write_zeroes);
    EXPECT_FALSE(b.capabilities().read_only);

    nlohmann::json info = b.driver_specific();
    EXPECT_EQ(info, nlohmann::json::parse(R"({"malloc": {"name": "Malloc0", "num_blocks": 256,
        "block_size": 4096, "uuid": "01234567-89ab-4def-8123-0123456789ab"}})"));
}

TEST(MallocBdev, RefusesBadParametersWithClearMessages) {
    auto msg = [](const MallocParams& p) {
        auto r = bdev_malloc_create(p);
        return r ? std::string("created") : r.error().message;
    };
    EXPECT_EQ(msg({"", 16, 512, {}}), "bdev name must not be empty");
    EXPECT_EQ(msg({"M", 16, 1000, {}}),
              "bdev M: block_size 1000 must be a power of two from 512 to 65536");
    EXPECT_EQ(msg({"M", 16, 256, {}}),
              "bdev M: block_size 256 must be a power of two from 512 to 65536");
    EXPECT_EQ(msg({"M", 0, 512, {}}), "bdev M: num_blocks must be greater than 0");
    EXPECT_EQ(msg({"M", UINT64_MAX / 2, 4096, {}}),
              "bdev M: 9223372036854775807 blocks of 4096 bytes overflow 64 bits");
    // Representable but far more than any host has: the mapping fails at creation.
    auto huge = bdev_malloc_create({"M", uint64_t{1} << 50, 4096, {}});
    ASSERT_FALSE(huge.has_value());
    EXPECT_EQ(huge.error().code, ENOMEM);
    EXPECT_NE(huge.error().message.find("cannot allocate"), std::string::npos);
}

TEST(MallocMemory, ZeroingKeepsTheEdgesOfLargeUnalignedRanges) {
    constexpr uint64_t kSize = 8 << 20;
    auto mem = MallocMemory::allocate(kSize);
    ASSERT_TRUE(mem.has_value());
    uint8_t* d = (*mem)->data();
    std::fill(d, d + kSize, 0xa5);
    // Large enough for madvise, unaligned at both ends.
    const uint64_t off = 4096 + 512, len = (3 << 20) + 1024;
    (*mem)->zero(off, len);
    for (uint64_t i = 0; i < kSize; i += 512) {
        const bool inside = i >= off && i < off + len;
        ASSERT_EQ(d[i], inside ? 0 : 0xa5) << i;
        ASSERT_EQ(d[i + 511], inside ? 0 : 0xa5) << i;
    }
    (*mem)->zero(512, 512);  // small: plain memset
    EXPECT_EQ(d[512], 0);
    EXPECT_EQ(d[1023], 0);
    EXPECT_EQ(d[1024], 0xa5);
}

TEST(MallocBdev, ChannelsKeepTheMemoryAliveAfterTheBdevIsGone) {
    auto bdev = bdev_malloc_create({"Malloc0", 64, 512, {}});
    ASSERT_TRUE(bdev.has_value());
    testing::Harness h(**bdev);
    bdev->reset();
    testing::AlignedBuffer buf(512);
    buf.fill_pattern(9);
    auto iov = testing::split(buf.data, buf.size, {});
    EXPECT_EQ(h.rw(IoType::write, 512, iov), IoStatus::success);
    EXPECT_EQ(h.rw(IoType::read, 512, iov), IoStatus::success);
}

}  // namespace
}  // namespace vhostd::block

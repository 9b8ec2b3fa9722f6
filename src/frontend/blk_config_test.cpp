// Tests for BlkConfig::parse: field offsets of VIRTIO 1.2, 5.2.4 and short configs.
#include "frontend/blk_config.hpp"

#include <array>
#include <cstring>

#include <gtest/gtest.h>

namespace vhostd::frontend {
namespace {

template <class T>
void put(std::array<std::byte, 60>& bytes, size_t offset, T value) {
    std::memcpy(bytes.data() + offset, &value, sizeof(value));
}

TEST(BlkConfig, ParsesEveryField) {
    std::array<std::byte, 60> b{};
    put<uint64_t>(b, 0, 0x123456789);
    put<uint32_t>(b, 8, 65536);
    put<uint32_t>(b, 12, 126);
    put<uint16_t>(b, 16, 1000);
    put<uint8_t>(b, 18, 16);
    put<uint8_t>(b, 19, 63);
    put<uint32_t>(b, 20, 4096);
    put<uint8_t>(b, 24, 3);
    put<uint8_t>(b, 25, 1);
    put<uint16_t>(b, 26, 8);
    put<uint32_t>(b, 28, 256);
    put<uint8_t>(b, 32, 1);
    put<uint16_t>(b, 34, 4);
    put<uint32_t>(b, 36, 32768);
    put<uint32_t>(b, 40, 1);
    put<uint32_t>(b, 44, 8);
    put<uint32_t>(b, 48, 16384);
    put<uint32_t>(b, 52, 2);
    put<uint8_t>(b, 56, 1);
    auto c = BlkConfig::parse(b);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->capacity, 0x123456789U);
    EXPECT_EQ(c->size_max, 65536U);
    EXPECT_EQ(c->seg_max, 126U);
    EXPECT_EQ(c->geometry.cylinders, 1000);
    EXPECT_EQ(c->geometry.heads, 16);
    EXPECT_EQ(c->geometry.sectors, 63);
    EXPECT_EQ(c->blk_size, 4096U);
    EXPECT_EQ(c->topology.physical_block_exp, 3);
    EXPECT_EQ(c->topology.alignment_offset, 1);
    EXPECT_EQ(c->topology.min_io_size, 8);
    EXPECT_EQ(c->topology.opt_io_size, 256U);
    EXPECT_EQ(c->writeback, 1);
    EXPECT_EQ(c->num_queues, 4);
    EXPECT_EQ(c->max_discard_sectors, 32768U);
    EXPECT_EQ(c->max_discard_seg, 1U);
    EXPECT_EQ(c->discard_sector_alignment, 8U);
    EXPECT_EQ(c->max_write_zeroes_sectors, 16384U);
    EXPECT_EQ(c->max_write_zeroes_seg, 2U);
    EXPECT_EQ(c->write_zeroes_may_unmap, 1);
    EXPECT_EQ(c->length, 60U);
}

TEST(BlkConfig, ShortConfigLeavesTheRestZero) {
    std::array<std::byte, 60> b{};
    put<uint64_t>(b, 0, 2048);
    put<uint32_t>(b, 20, 512);
    put<uint16_t>(b, 34, 7);
    auto c = BlkConfig::parse(std::span(b).first(24));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->capacity, 2048U);
    EXPECT_EQ(c->blk_size, 512U);
    EXPECT_EQ(c->num_queues, 0);
    EXPECT_FALSE(BlkConfig::parse(std::span(b).first(7)));
}

}  // namespace
}  // namespace vhostd::frontend

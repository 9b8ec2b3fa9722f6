// WRITE SAME (10, 16) and UNMAP, including hostile parameter lists.
#include <gtest/gtest.h>

#include "scsi/cdb.hpp"
#include "support/scsi_tasks.hpp"

namespace vhostd::scsi {
namespace {

using testing::Harness;
using testing::sense_of;

struct WriteSameUnmap : ::testing::Test {
    WriteSameUnmap() { h.command({0x00, 0, 0, 0, 0, 0}); }
    std::vector<uint8_t> read(uint32_t lba, uint16_t blocks) {
        std::vector<uint8_t> buf(blocks * 512u);
        uint8_t cdb_lba[4];
        put_be32(cdb_lba, lba);
        Task t = h.command({0x28, 0, cdb_lba[0], cdb_lba[1], cdb_lba[2], cdb_lba[3], 0,
                            static_cast<uint8_t>(blocks >> 8), static_cast<uint8_t>(blocks), 0},
                           buf);
        EXPECT_EQ(t.status, status::good);
        return buf;
    }
    void fill(uint32_t lba, uint16_t blocks, uint8_t value) {
        std::vector<uint8_t> buf(blocks * 512u, value);
        uint8_t l[4];
        put_be32(l, lba);
        EXPECT_EQ(h.command({0x2a, 0, l[0], l[1], l[2], l[3], 0, static_cast<uint8_t>(blocks >> 8),
                             static_cast<uint8_t>(blocks), 0},
                            buf, DataDirection::to_device)
                      .status,
                  status::good);
    }
    Harness h{2048, 512};
};

bool all(const std::vector<uint8_t>& v, uint8_t value) {
    return std::all_of(v.begin(), v.end(), [&](uint8_t b) { return b == value; });
}

TEST_F(WriteSameUnmap, PatternIsRepeated) {
    std::vector<uint8_t> block(512);
    for (size_t i = 0; i < 512; ++i) {
        block[i] = static_cast<uint8_t>(i);
    }
    Task t = h.command({0x41, 0, 0, 0, 0, 100, 0, 0, 21, 0}, block, DataDirection::to_device);
    ASSERT_EQ(t.status, status::good);
    EXPECT_EQ(t.data_transferred, 512u);
    auto back = read(99, 23);
    EXPECT_TRUE(std::all_of(back.begin(), back.begin() + 512, [](uint8_t b) { return b == 0; }));
    for (int b = 1; b <= 21; ++b) {
        EXPECT_TRUE(std::equal(block.begin(), block.end(), back.begin() + b * 512)) << b;
    }
    EXPECT_TRUE(std::all_of(back.end() - 512, back.end(), [](uint8_t x) { return x == 0; }));
}

TEST_F(WriteSameUnmap, PatternFromAFragmentedBlock) {
    std::vector<uint8_t> block(512);
    for (size_t i = 0; i < 512; ++i) {
        block[i] = static_cast<uint8_t>(255 - i);
    }
    std::vector<iovec> iov = {
        {block.data(), 100}, {block.data() + 100, 12}, {block.data() + 112, 400}};
    Task t = h.command_iov({0x93, 0, 0, 0, 0, 0, 0, 0, 0, 50, 0, 0, 0, 40, 0, 0}, iov,
                           DataDirection::to_device);
    ASSERT_EQ(t.status, status::good);
    auto back = read(50, 40);
    for (int b = 0; b < 40; ++b) {
        EXPECT_TRUE(std::equal(block.begin(), block.end(), back.begin() + b * 512)) << b;
    }
}

TEST_F(WriteSameUnmap, ZeroesWithUnmapAndNdob) {
    fill(10, 8, 0x5a);
    std::vector<uint8_t> zero(512);
    EXPECT_EQ(h.command({0x93, 0x08, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 4, 0, 0}, zero,
                        DataDirection::to_device)
                  .status,
              status::good);
    EXPECT_TRUE(all(read(10, 4), 0));
    EXPECT_TRUE(all(read(14, 4), 0x5a));
    // NDOB: no data-out buffer at all.
    EXPECT_EQ(h.command({0x93, 0x09, 0, 0, 0, 0, 0, 0, 0, 14, 0, 0, 0, 4, 0, 0}).status,
              status::good);
    EXPECT_TRUE(all(read(14, 4), 0));
}

TEST_F(WriteSameUnmap, HostileWriteSame) {
    std::vector<uint8_t> block(512);
    // 0 blocks (WSNZ), out of range, short buffer, wrapping LBA.
    EXPECT_EQ(
        sense_of(h.command({0x41, 0, 0, 0, 0, 0, 0, 0, 0, 0}, block, DataDirection::to_device)),
        sense::invalid_field_in_cdb);
    EXPECT_EQ(sense_of(h.command({0x41, 0, 0, 0, 0x07, 0xff, 0, 0, 2, 0}, block,
                                 DataDirection::to_device)),
              sense::lba_out_of_range);
    std::vector<uint8_t> small(100);
    EXPECT_TRUE(
        h.command({0x41, 0, 0, 0, 0, 0, 0, 0, 1, 0}, small, DataDirection::to_device).overrun);
    EXPECT_EQ(sense_of(h.command(
                  {0x93, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 0, 0},
                  block, DataDirection::to_device)),
              sense::lba_out_of_range);
}

// An UNMAP parameter list: header then (lba, blocks) descriptors.
std::vector<uint8_t> unmap_list(std::vector<std::pair<uint64_t, uint32_t>> ranges) {
    std::vector<uint8_t> p(8 + 16 * ranges.size());
    put_be16(&p[0], static_cast<uint16_t>(p.size() - 2));
    put_be16(&p[2], static_cast<uint16_t>(16 * ranges.size()));
    for (size_t i = 0; i < ranges.size(); ++i) {
        put_be64(&p[8 + 16 * i], ranges[i].first);
        put_be32(&p[8 + 16 * i + 8], ranges[i].second);
    }
    return p;
}

Task run_unmap(Harness& h, std::vector<uint8_t>& list, uint16_t length) {
    return h.command({0x42, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(length >> 8),
                      static_cast<uint8_t>(length), 0},
                     list, DataDirection::to_device);
}

TEST_F(WriteSameUnmap, UnmapDescriptors) {
    fill(0, 40, 0x77);
    auto list = unmap_list({{0, 4}, {8, 0}, {10, 2}});
    Task t = run_unmap(h, list, static_cast<uint16_t>(list.size()));
    ASSERT_EQ(t.status, status::good);
    EXPECT_TRUE(all(read(0, 4), 0));  // malloc discards to zeroes
    EXPECT_TRUE(all(read(4, 6), 0x77));
    EXPECT_TRUE(all(read(10, 2), 0));
    EXPECT_TRUE(all(read(12, 28), 0x77));
}

TEST_F(WriteSameUnmap, HostileUnmapLists) {
    fill(0, 4, 0x77);
    std::vector<uint8_t> none;
    EXPECT_EQ(run_unmap(h, none, 0).status, status::good);  // no list: not an error
    auto list = unmap_list({{0, 4}});
    std::vector<uint8_t> tiny(list.begin(), list.begin() + 6);
    EXPECT_EQ(sense_of(run_unmap(h, tiny, 6)), sense::parameter_list_length_error);
    // Parameter list length past the buffer.
    EXPECT_TRUE(run_unmap(h, list, 200).overrun);
    // Block descriptor data length past the list.
    auto bad = list;
    put_be16(&bad[2], 64);
    EXPECT_EQ(sense_of(run_unmap(h, bad, static_cast<uint16_t>(bad.size()))),
              sense::parameter_list_length_error);
    // Unmap data length past the list.
    bad = list;
    put_be16(&bad[0], 0xffff);
    EXPECT_EQ(sense_of(run_unmap(h, bad, static_cast<uint16_t>(bad.size()))),
              sense::parameter_list_length_error);
    // Out of range, and wrapping: nothing is unmapped.
    auto far = unmap_list({{0, 4}, {2047, 2}});
    EXPECT_EQ(sense_of(run_unmap(h, far, static_cast<uint16_t>(far.size()))),
              sense::lba_out_of_range);
    auto wrap = unmap_list({{UINT64_MAX, 2}});
    EXPECT_EQ(sense_of(run_unmap(h, wrap, static_cast<uint16_t>(wrap.size()))),
              sense::lba_out_of_range);
    EXPECT_TRUE(all(read(0, 4), 0x77));
    // Too many descriptors.
    std::vector<std::pair<uint64_t, uint32_t>> many(17, {0, 1});
    auto lots = unmap_list(many);
    EXPECT_EQ(sense_of(run_unmap(h, lots, static_cast<uint16_t>(lots.size()))),
              sense::invalid_field_in_parameter_list);
    // A trailing partial descriptor is ignored.
    auto partial = unmap_list({{0, 1}});
    put_be16(&partial[2], 16 + 8);
    partial.resize(partial.size() + 8);
    put_be16(&partial[0], static_cast<uint16_t>(partial.size() - 2));
    EXPECT_EQ(run_unmap(h, partial, static_cast<uint16_t>(partial.size())).status, status::good);
}

}  // namespace
}  // namespace vhostd::scsi

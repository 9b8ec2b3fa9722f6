// READ/WRITE 6/10/12/16, SYNCHRONIZE CACHE, VERIFY: data, ranges, residuals, hostile CDBs.
#include <gtest/gtest.h>

#include "support/scsi_tasks.hpp"

namespace vhostd::scsi {
namespace {

using testing::Harness;
using testing::sense_of;

struct ReadWrite : ::testing::Test {
    ReadWrite() { h.command({0x00, 0, 0, 0, 0, 0}); }  // consume POWER ON
    Harness h{2048, 512};
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) {
        v[i] = static_cast<uint8_t>(i * 7 + seed);
    }
    return v;
}

TEST_F(ReadWrite, WriteThenReadEveryForm) {
    auto data = pattern(1024, 1);
    Task t = h.command({0x2a, 0, 0, 0, 0, 10, 0, 0, 2, 0}, data, DataDirection::to_device);
    ASSERT_EQ(t.status, status::good);
    EXPECT_EQ(t.data_transferred, 1024u);
    std::vector<uint8_t> back(1024);
    t = h.command({0x28, 0, 0, 0, 0, 10, 0, 0, 2, 0}, back);
    ASSERT_EQ(t.status, status::good);
    EXPECT_EQ(back, data);
    back.assign(1024, 0);
    h.command({0x08, 0, 0, 10, 2, 0}, back);  // READ(6)
    EXPECT_EQ(back, data);
    back.assign(1024, 0);
    h.command({0xa8, 0, 0, 0, 0, 10, 0, 0, 0, 2, 0, 0}, back);  // READ(12)
    EXPECT_EQ(back, data);
    back.assign(1024, 0);
    h.command({0x88, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 2, 0, 0}, back);  // READ(16)
    EXPECT_EQ(back, data);
    auto more = pattern(512, 9);
    EXPECT_EQ(h.command({0x0a, 0, 0, 20, 1, 0}, more, DataDirection::to_device).status,
              status::good);
    EXPECT_EQ(h.command({0xaa, 0x08, 0, 0, 0, 21, 0, 0, 0, 1, 0, 0}, more, DataDirection::to_device)
                  .status,
              status::good);  // WRITE(12) with FUA
    EXPECT_EQ(h.command({0x8a, 0, 0, 0, 0, 0, 0, 0, 0, 22, 0, 0, 0, 1, 0, 0}, more,
                        DataDirection::to_device)
                  .status,
              status::good);
    back.assign(1536, 0);
    h.command({0x28, 0, 0, 0, 0, 20, 0, 0, 3, 0}, back);
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(std::equal(more.begin(), more.end(), back.begin() + i * 512));
    }
}

TEST_F(ReadWrite, SixByteLengthZeroMeans256Blocks) {
    std::vector<uint8_t> buf(256 * 512);
    Task t = h.command({0x08, 0, 0, 0, 0, 0}, buf);
    EXPECT_EQ(t.status, status::good);
    EXPECT_EQ(t.data_transferred, buf.size());
}

TEST_F(ReadWrite, ZeroLengthIsGood) {
    std::vector<uint8_t> none;
    EXPECT_EQ(h.command({0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0}, none).status, status::good);
    // ...but its LBA is still checked.
    EXPECT_EQ(sense_of(h.command({0x28, 0, 0, 0, 0x10, 0, 0, 0, 0, 0}, none)),
              sense::lba_out_of_range);
}

TEST_F(ReadWrite, LbaOutOfRangeWithoutOverflow) {
    std::vector<uint8_t> buf(512);
    EXPECT_EQ(sense_of(h.command({0x28, 0, 0, 0, 0x08, 0x00, 0, 0, 1, 0}, buf)),
              sense::lba_out_of_range);  // LBA 2048 == capacity
    EXPECT_EQ(h.command({0x28, 0, 0, 0, 0x07, 0xff, 0, 0, 1, 0}, buf).status, status::good);
    std::vector<uint8_t> two(1024);
    EXPECT_EQ(sense_of(h.command({0x28, 0, 0, 0, 0x07, 0xff, 0, 0, 2, 0}, two)),
              sense::lba_out_of_range);
    // LBA + length wrapping 2^64.
    EXPECT_EQ(
        sense_of(h.command(
            {0x88, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 0, 0}, two)),
        sense::lba_out_of_range);
    EXPECT_EQ(
        sense_of(h.command({0x88, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0}, two)),
        sense::lba_out_of_range);
}

TEST_F(ReadWrite, BufferLargerThanTransferLeavesResidual) {
    std::vector<uint8_t> buf(4096, 0xaa);
    Task t = h.command({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, buf);
    ASSERT_EQ(t.status, status::good);
    EXPECT_EQ(t.data_transferred, 512u);
    EXPECT_EQ(t.residual(), 4096u - 512u);
    EXPECT_EQ(buf[512], 0xaa);  // untouched past the transfer
}

TEST_F(ReadWrite, BufferTooSmallOrWrongDirectionIsOverrun) {
    std::vector<uint8_t> buf(511);
    Task t = h.command({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, buf);
    EXPECT_EQ(t.status, status::check_condition);
    EXPECT_TRUE(t.overrun);
    EXPECT_EQ(t.data_transferred, 0u);
    std::vector<uint8_t> ok(512);
    t = h.command({0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, ok, DataDirection::from_device);
    EXPECT_TRUE(t.overrun);
    std::vector<uint8_t> none;
    EXPECT_TRUE(h.command({0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0}, none).overrun);
}

TEST_F(ReadWrite, SplitBuffers) {
    auto data = pattern(1536, 3);
    std::vector<iovec> iov = {
        {data.data(), 100}, {data.data() + 100, 1000}, {data.data() + 1100, 436}};
    Task t = h.command_iov({0x2a, 0, 0, 0, 0, 5, 0, 0, 3, 0}, iov, DataDirection::to_device);
    ASSERT_EQ(t.status, status::good);
    EXPECT_EQ(t.data_transferred, 1536u);
    std::vector<uint8_t> back(1536);
    h.command({0x28, 0, 0, 0, 0, 5, 0, 0, 3, 0}, back);
    EXPECT_EQ(back, data);
}

TEST_F(ReadWrite, SynchronizeCacheAndVerify) {
    EXPECT_EQ(h.command({0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}).status, status::good);
    EXPECT_EQ(h.command({0x91, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}).status,
              status::good);
    EXPECT_EQ(sense_of(h.command({0x35, 0, 0, 0, 0x08, 0x01, 0, 0, 0, 0})),
              sense::lba_out_of_range);
    EXPECT_EQ(h.command({0x2f, 0, 0, 0, 0, 0, 0, 0x08, 0x00, 0}).status, status::good);
    EXPECT_EQ(sense_of(h.command({0x2f, 0, 0, 0, 0, 1, 0, 0x08, 0x00, 0})),
              sense::lba_out_of_range);
    EXPECT_EQ(sense_of(h.command({0x2f, 0x02, 0, 0, 0, 0, 0, 0, 1, 0})),
              sense::invalid_field_in_cdb);  // BYTCHK
}

}  // namespace
}  // namespace vhostd::scsi

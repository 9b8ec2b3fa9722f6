// INQUIRY standard data and VPD pages; READ CAPACITY.
#include <string>

#include <gtest/gtest.h>

#include "scsi/cdb.hpp"
#include "support/scsi_tasks.hpp"

namespace vhostd::scsi {
namespace {

using testing::Harness;
using testing::sense_of;

TEST(Inquiry, StandardData) {
    Harness h;
    std::vector<uint8_t> buf(255, 0xee);
    Task t = h.command({0x12, 0, 0, 0, 255, 0}, buf);
    ASSERT_EQ(t.status, status::good);
    EXPECT_EQ(t.data_transferred, 36u);
    EXPECT_EQ(t.residual(), 255u - 36u);
    EXPECT_EQ(buf[0], 0x00);
    EXPECT_EQ(buf[2], 0x06);
    EXPECT_EQ(buf[4], 31);
    EXPECT_EQ(std::string(buf.begin() + 8, buf.begin() + 16), "VHOSTD  ");
    EXPECT_EQ(std::string(buf.begin() + 16, buf.begin() + 27), "Malloc disk");
}

TEST(Inquiry, AllocationLengthTruncatesAndZeroSendsNothing) {
    Harness h;
    std::vector<uint8_t> buf(255);
    EXPECT_EQ(h.command({0x12, 0, 0, 0, 5, 0}, buf).data_transferred, 5u);
    Task t = h.command({0x12, 0, 0, 0, 0, 0}, buf);
    EXPECT_EQ(t.status, status::good);
    EXPECT_EQ(t.data_transferred, 0u);
    // A buffer smaller than the allocation length: only what fits.
    std::vector<uint8_t> small(10);
    EXPECT_EQ(h.command({0x12, 0, 0, 0, 255, 0}, small).data_transferred, 10u);
}

TEST(Inquiry, PageCodeWithoutEvpdIsInvalid) {
    Harness h;
    std::vector<uint8_t> buf(255);
    EXPECT_EQ(sense_of(h.command({0x12, 0, 0x80, 0, 255, 0}, buf)), sense::invalid_field_in_cdb);
    EXPECT_EQ(sense_of(h.command({0x12, 1, 0x42, 0, 255, 0}, buf)), sense::invalid_field_in_cdb);
}

TEST(Inquiry, VpdPages) {
    Harness h;
    std::vector<uint8_t> buf(255);
    Task t = h.command({0x12, 1, 0x00, 0, 255, 0}, buf);
    ASSERT_EQ(t.status, status::good);
    EXPECT_EQ(buf[1], 0x00);
    EXPECT_EQ(buf[3], 6);
    EXPECT_EQ(buf[4 + 5], 0xb2);

    h.command({0x12, 1, 0x80, 0, 255, 0}, buf);
    EXPECT_EQ(std::string(buf.begin() + 4, buf.begin() + 4 + buf[3]),
              "1b4e28ba2fa141d2883f0016d3cca410");

    h.command({0x12, 1, 0x83, 0, 255, 0}, buf);
    EXPECT_EQ(buf[4] & 0x0f, 1);       // binary
    EXPECT_EQ(buf[5] & 0x0f, 3);       // NAA
    EXPECT_EQ(buf[8] >> 4, 3);         // locally assigned
    EXPECT_EQ(buf[16 + 1] & 0x0f, 1);  // T10 vendor ID
    EXPECT_EQ(std::string(buf.begin() + 20, buf.begin() + 28), "VHOSTD  ");

    h.command({0x12, 1, 0xb0, 0, 255, 0}, buf);
    EXPECT_EQ(get_be16(&buf[2]), 0x3c);
    EXPECT_EQ(buf[4] & 1, 1);            // WSNZ
    EXPECT_EQ(get_be32(&buf[24]), 16u);  // malloc discards: unmap descriptor count

    h.command({0x12, 1, 0xb1, 0, 255, 0}, buf);
    EXPECT_EQ(get_be16(&buf[4]), 1);  // non-rotating

    h.command({0x12, 1, 0xb2, 0, 255, 0}, buf);
    EXPECT_EQ(buf[5] & 0x80, 0x80);  // LBPU
}

TEST(Inquiry, IdentifiersStableForTheSameUuid) {
    Harness a;
    Harness b;
    std::vector<uint8_t> x(255), y(255);
    a.command({0x12, 1, 0x83, 0, 255, 0}, x);
    b.command({0x12, 1, 0x83, 0, 255, 0}, y);
    EXPECT_EQ(x, y);
}

TEST(ReadCapacity, TenAndSixteen) {
    Harness h(2048, 512);
    h.command({0x00, 0, 0, 0, 0, 0});
    std::vector<uint8_t> buf(32);
    Task t = h.command({0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, buf);
    ASSERT_EQ(t.status, status::good);
    EXPECT_EQ(get_be32(&buf[0]), 2047u);
    EXPECT_EQ(get_be32(&buf[4]), 512u);
    t = h.command({0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}, buf);
    ASSERT_EQ(t.status, status::good);
    EXPECT_EQ(get_be64(&buf[0]), 2047u);
    EXPECT_EQ(buf[14] & 0x80, 0x80);  // LBPME
    // LBA without PMI is invalid.
    EXPECT_EQ(sense_of(h.command({0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0}, buf)),
              sense::invalid_field_in_cdb);
    // Allocation length 0: nothing.
    EXPECT_EQ(
        h.command({0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, buf).data_transferred,
        0u);
}

TEST(ReadCapacity, ResizeRaisesCapacityChanged) {
    Harness h;
    h.command({0x00, 0, 0, 0, 0, 0});
    auto unit = h.target.find(0);
    unit->notify_resized();  // same size: nothing
    EXPECT_EQ(h.command({0x00, 0, 0, 0, 0, 0}).status, status::good);
}

}  // namespace
}  // namespace vhostd::scsi

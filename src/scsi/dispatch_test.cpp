// The checks before every command: opcodes, CDB length, reserved bits, unit attentions.
#include <gtest/gtest.h>

#include "support/scsi_tasks.hpp"

namespace vhostd::scsi {
namespace {

using testing::Harness;
using testing::sense_of;

// A fresh LUN reports POWER ON first; later commands see nothing.
void clear_ua(Harness& h, uint64_t lun = 0) {
    h.command({0x00, 0, 0, 0, 0, 0}, lun);
}

TEST(Dispatch, PowerOnUnitAttentionReportedOnceThenGood) {
    Harness h;
    Task t = h.command({0x00, 0, 0, 0, 0, 0});
    EXPECT_EQ(t.status, status::check_condition);
    EXPECT_EQ(sense_of(t), (SenseCode{sense_key::unit_attention, 0x29, 0x00}));
    t = h.command({0x00, 0, 0, 0, 0, 0});
    EXPECT_EQ(t.status, status::good);
    EXPECT_EQ(t.sense_length, 0);
}

TEST(Dispatch, InquiryAndReportLunsDoNotConsumeUnitAttention) {
    Harness h;
    std::vector<uint8_t> buf(96);
    EXPECT_EQ(h.command({0x12, 0, 0, 0, 96, 0}, buf).status, status::good);
    std::vector<uint8_t> luns(64);
    EXPECT_EQ(h.command({0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0}, luns).status, status::good);
    Task t = h.command({0x00, 0, 0, 0, 0, 0});
    EXPECT_EQ(sense_of(t), (SenseCode{sense_key::unit_attention, 0x29, 0x00}));
}

TEST(Dispatch, UnitAttentionsInPriorityOrder) {
    Harness h;
    clear_ua(h);
    auto unit = h.target.find(0);
    unit->notify_reset();
    unit->unit_attentions().raise_all(UnitAttention::capacity_changed);
    EXPECT_EQ(sense_of(h.command({0x00, 0, 0, 0, 0, 0})).asc, 0x29);
    EXPECT_EQ(sense_of(h.command({0x00, 0, 0, 0, 0, 0})),
              (SenseCode{sense_key::unit_attention, 0x2a, 0x09}));
    EXPECT_EQ(h.command({0x00, 0, 0, 0, 0, 0}).status, status::good);
}

TEST(Dispatch, AddingALunRaisesReportedLunsChanged) {
    Harness h;
    clear_ua(h);
    h.add_lun(1, 64);
    EXPECT_EQ(sense_of(h.command({0x00, 0, 0, 0, 0, 0})),
              (SenseCode{sense_key::unit_attention, 0x3f, 0x0e}));
}

TEST(Dispatch, UnknownOpcodeIsInvalidCommandOperationCode) {
    Harness h;
    clear_ua(h);
    for (uint8_t op : {0x01, 0x04, 0x3b, 0x7f, 0xc0, 0xff}) {
        Task t = h.command({op, 0, 0, 0, 0, 0});
        EXPECT_EQ(t.status, status::check_condition) << int(op);
        EXPECT_EQ(sense_of(t), sense::invalid_opcode) << int(op);
    }
}

TEST(Dispatch, UnknownServiceActionIsInvalidField) {
    Harness h;
    clear_ua(h);
    Task t = h.command({0x9e, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0});
    EXPECT_EQ(sense_of(t), sense::invalid_field_in_cdb);
}

TEST(Dispatch, ReservedBitsAreInvalidFieldWithPointer) {
    Harness h;
    clear_ua(h);
    // TEST UNIT READY with a bit set in reserved byte 2.
    Task t = h.command({0x00, 0, 0x10, 0, 0, 0});
    EXPECT_EQ(sense_of(t), sense::invalid_field_in_cdb);
    EXPECT_EQ(t.sense[15], 0x80 | 0x40 | 0x08 | 4);  // SKSV, C/D, BPV, bit 4
    EXPECT_EQ(t.sense[17], 2);
    // NACA in the control byte.
    EXPECT_EQ(sense_of(h.command({0x00, 0, 0, 0, 0, 0x04})), sense::invalid_field_in_cdb);
    // READ(10) with RDPROTECT.
    std::vector<uint8_t> buf(512);
    EXPECT_EQ(sense_of(h.command({0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0}, buf)),
              sense::invalid_field_in_cdb);
}

TEST(Dispatch, ShortCdbIsInvalidField) {
    Harness h;
    clear_ua(h);
    Task t;
    t.cdb = {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    t.cdb_length = 6;  // READ(10) cut short by the transport
    h.run(t);
    EXPECT_EQ(sense_of(t), sense::invalid_field_in_cdb);
    Task empty;
    empty.cdb_length = 0;
    h.run(empty);
    EXPECT_EQ(empty.status, status::check_condition);
}

TEST(Dispatch, MissingLunGetsLunNotSupportedButInquiryAnswers) {
    Harness h;
    EXPECT_EQ(sense_of(h.command({0x00, 0, 0, 0, 0, 0}, 3)), sense::lun_not_supported);
    std::vector<uint8_t> buf(36);
    Task t = h.command({0x12, 0, 0, 0, 36, 0}, buf, DataDirection::from_device, 3);
    EXPECT_EQ(t.status, status::good);
    EXPECT_EQ(buf[0], 0x7f);  // SPC-4 6.6.2: qualifier 011b, type 1Fh
    std::vector<uint8_t> sense(18);
    t = h.command({0x03, 0, 0, 0, 18, 0}, sense, DataDirection::from_device, 3);
    EXPECT_EQ(t.status, status::good);
    EXPECT_EQ(decode_sense(sense.data(), 18), sense::lun_not_supported);
}

TEST(Dispatch, RequestSenseReportsAndClearsUnitAttention) {
    Harness h;
    std::vector<uint8_t> sense(252);
    Task t = h.command({0x03, 0, 0, 0, 252, 0}, sense);
    EXPECT_EQ(t.status, status::good);
    EXPECT_EQ(t.data_transferred, 18u);
    EXPECT_EQ(decode_sense(sense.data(), 18), (SenseCode{sense_key::unit_attention, 0x29, 0}));
    EXPECT_EQ(h.command({0x00, 0, 0, 0, 0, 0}).status, status::good);
    h.command({0x03, 0, 0, 0, 252, 0}, sense);
    EXPECT_EQ(decode_sense(sense.data(), 18), sense::no_sense);
}

TEST(Dispatch, StartStopUnit) {
    Harness h;
    clear_ua(h);
    EXPECT_EQ(h.command({0x1b, 0, 0, 0, 0x01, 0}).status, status::good);
    EXPECT_EQ(h.command({0x1b, 0, 0, 0, 0x00, 0}).status, status::good);
    EXPECT_EQ(sense_of(h.command({0x1b, 0, 0, 0, 0x10, 0})), sense::invalid_field_in_cdb);
}

}  // namespace
}  // namespace vhostd::scsi

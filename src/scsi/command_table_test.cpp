// The command table's consistency (it drives dispatch, the reserved-bit checks and REPORT
// SUPPORTED OPERATION CODES), sense data layout and unit attention bookkeeping.
#include "scsi/command_table.hpp"

#include <gtest/gtest.h>

#include "scsi/sense.hpp"
#include "scsi/task.hpp"
#include "scsi/unit_attention.hpp"

namespace vhostd::scsi {
namespace {

TEST(CommandTable, RowsAreConsistent) {
    for (const CommandInfo& c : all_commands()) {
        SCOPED_TRACE(testing::Message() << std::hex << int(c.opcode) << "/" << c.service_action);
        EXPECT_EQ(c.usage[0], c.opcode);
        // SPC-4 4.2.5.1: the group code (top 3 bits) fixes the CDB length.
        const int group = c.opcode >> 5;
        const int expected = group == 0 ? 6 : (group <= 2 ? 10 : (group == 4 ? 16 : 12));
        EXPECT_EQ(c.cdb_length, expected);
        EXPECT_EQ(c.usage[c.cdb_length - 1], 0);  // control byte: NACA, LINK unsupported
        if (c.has_service_action) {
            EXPECT_EQ(c.usage[1] & 0x1f, 0x1f);
            EXPECT_EQ(find_command(c.opcode, c.service_action), &c);
        } else {
            EXPECT_EQ(find_command(c.opcode, 0), &c);
        }
        EXPECT_NE(c.handler, nullptr);
    }
    EXPECT_EQ(find_command(0x3b, 0), nullptr);
    EXPECT_TRUE(opcode_has_service_actions(0x9e));
    EXPECT_FALSE(opcode_has_service_actions(0x28));
}

TEST(Sense, FixedFormat) {
    Task t;
    set_check_condition(t, sense::lba_out_of_range);
    EXPECT_EQ(t.status, status::check_condition);
    EXPECT_EQ(t.sense_length, 18);
    EXPECT_EQ(t.sense[0], 0x70);
    EXPECT_EQ(t.sense[2], 0x05);
    EXPECT_EQ(t.sense[7], 10);
    EXPECT_EQ(t.sense[12], 0x21);
    set_invalid_field(t, false, 0x1234, 3);
    EXPECT_EQ(decode_sense(t.sense.data(), t.sense_length), sense::invalid_field_in_parameter_list);
    EXPECT_EQ(t.sense[15], 0x80 | 0x08 | 3);
    EXPECT_EQ(t.sense[16], 0x12);
    EXPECT_EQ(t.sense[17], 0x34);
    uint8_t descriptor[8] = {0x72, 0x06, 0x29, 0x00};
    EXPECT_EQ(decode_sense(descriptor, 8), (SenseCode{6, 0x29, 0}));
    EXPECT_EQ(decode_sense(descriptor, 0), sense::no_sense);
}

TEST(UnitAttentions, PerInitiatorTakenOnceInOrder) {
    UnitAttentions ua;
    EXPECT_FALSE(ua.take(0));
    ua.raise_all(UnitAttention::capacity_changed);
    ua.raise(1, UnitAttention::power_on_reset);
    EXPECT_EQ(ua.take(1), UnitAttention::power_on_reset);
    EXPECT_EQ(ua.take(1), UnitAttention::capacity_changed);
    EXPECT_FALSE(ua.take(1));
    EXPECT_TRUE(ua.pending(0));
    EXPECT_EQ(ua.take(0), UnitAttention::capacity_changed);
    EXPECT_FALSE(ua.pending(0));
    ua.raise(kUnitAttentionInitiators, UnitAttention::power_on_reset);  // out of range: ignored
    EXPECT_FALSE(ua.take(kUnitAttentionInitiators));
}

}  // namespace
}  // namespace vhostd::scsi

// MODE SENSE / MODE SELECT, REPORT LUNS and REPORT SUPPORTED OPERATION CODES.
#include <gtest/gtest.h>

#include "scsi/cdb.hpp"
#include "support/scsi_tasks.hpp"

namespace vhostd::scsi {
namespace {

using testing::Harness;
using testing::sense_of;

struct ModeReport : ::testing::Test {
    ModeReport() { h.command({0x00, 0, 0, 0, 0, 0}); }
    Harness h{2048, 512};
};

TEST_F(ModeReport, ModeSenseAllPages) {
    std::vector<uint8_t> buf(255);
    Task t = h.command({0x1a, 0, 0x3f, 0, 255, 0}, buf);
    ASSERT_EQ(t.status, status::good);
    // header 4 + block descriptor 8 + pages 12 + 20 + 12
    EXPECT_EQ(t.data_transferred, 56u);
    EXPECT_EQ(buf[0], 55);
    EXPECT_EQ(buf[2] & 0x10, 0x10);  // DPOFUA
    EXPECT_EQ(buf[3], 8);
    EXPECT_EQ(get_be32(&buf[4]), 2048u);
    EXPECT_EQ(get_be32(&buf[8]) & 0xffffff, 512u);
    EXPECT_EQ(buf[12], 0x01);
    EXPECT_EQ(buf[24], 0x08);
    EXPECT_EQ(buf[26] & 0x04, 0);  // malloc: no volatile cache, WCE=0
    EXPECT_EQ(buf[44], 0x0a);
}

TEST_F(ModeReport, ModeSense10LongLbaAndPageControl) {
    std::vector<uint8_t> buf(255);
    Task t = h.command({0x5a, 0x10, 0x08, 0, 0, 0, 0, 0, 255, 0}, buf);
    ASSERT_EQ(t.status, status::good);
    EXPECT_EQ(buf[4] & 1, 1);
    EXPECT_EQ(get_be16(&buf[6]), 16);
    EXPECT_EQ(get_be64(&buf[8]), 2048u);
    EXPECT_EQ(buf[24], 0x08);
    // Changeable values: all zero.
    h.command({0x5a, 0x08, 0x48, 0, 0, 0, 0, 0, 255, 0}, buf);
    EXPECT_EQ(buf[8], 0x08);
    EXPECT_TRUE(std::all_of(buf.begin() + 10, buf.begin() + 28, [](uint8_t b) { return b == 0; }));
    // Saved values: not supported.
    EXPECT_EQ(sense_of(h.command({0x1a, 0, 0xc8, 0, 255, 0}, buf)),
              sense::saving_parameters_not_supported);
    // Unknown page, unknown subpage.
    EXPECT_EQ(sense_of(h.command({0x1a, 0, 0x1c, 0, 255, 0}, buf)), sense::invalid_field_in_cdb);
    EXPECT_EQ(sense_of(h.command({0x1a, 0, 0x08, 1, 255, 0}, buf)), sense::invalid_field_in_cdb);
    EXPECT_EQ(h.command({0x1a, 0, 0x3f, 0xff, 255, 0}, buf).status, status::good);
    EXPECT_EQ(h.command({0x1a, 0, 0x3f, 0, 0, 0}, buf).data_transferred, 0u);
}

TEST_F(ModeReport, ModeSelectAcceptsCurrentValuesOnly) {
    std::vector<uint8_t> page(255);
    Task t = h.command({0x1a, 0x08, 0x08, 0, 255, 0}, page);  // DBD, caching page
    ASSERT_EQ(t.status, status::good);
    std::vector<uint8_t> list(page.begin(), page.begin() + static_cast<long>(t.data_transferred));
    list[0] = 0;  // mode data length is reserved in MODE SELECT
    EXPECT_EQ(h.command({0x15, 0x10, 0, 0, static_cast<uint8_t>(list.size()), 0}, list,
                        DataDirection::to_device)
                  .status,
              status::good);
    auto changed = list;
    changed[4 + 2] |= 0x04;  // try to set WCE
    EXPECT_EQ(sense_of(h.command({0x15, 0x10, 0, 0, static_cast<uint8_t>(changed.size()), 0},
                                 changed, DataDirection::to_device)),
              sense::invalid_field_in_parameter_list);
    auto truncated = list;
    truncated[4 + 1] = 60;  // page length past the list
    EXPECT_EQ(sense_of(h.command({0x15, 0x10, 0, 0, static_cast<uint8_t>(truncated.size()), 0},
                                 truncated, DataDirection::to_device)),
              sense::parameter_list_length_error);
    EXPECT_EQ(sense_of(h.command({0x15, 0x11, 0, 0, 0, 0})), sense::invalid_field_in_cdb);  // SP
    EXPECT_TRUE(h.command({0x15, 0x10, 0, 0, 200, 0}, list, DataDirection::to_device).overrun);
}

TEST_F(ModeReport, ReportLuns) {
    h.add_lun(5, 64);
    h.add_lun(300, 64);
    std::vector<uint8_t> buf(64);
    Task t = h.command({0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0}, buf, DataDirection::from_device,
                       7);  // to a LUN that does not exist
    ASSERT_EQ(t.status, status::good);
    EXPECT_EQ(get_be32(&buf[0]), 24u);
    EXPECT_EQ(buf[9], 0);
    EXPECT_EQ(buf[17], 5);
    EXPECT_EQ(buf[24], 0x41);
    EXPECT_EQ(buf[25], 300 - 256);
    EXPECT_EQ(sense_of(h.command({0xa0, 0, 3, 0, 0, 0, 0, 0, 0, 64, 0, 0}, buf)),
              sense::invalid_field_in_cdb);
    t = h.command({0xa0, 0, 1, 0, 0, 0, 0, 0, 0, 64, 0, 0}, buf);
    EXPECT_EQ(get_be32(&buf[0]), 0u);
}

TEST_F(ModeReport, ReportSupportedOpcodesAll) {
    std::vector<uint8_t> buf(4096);
    Task t = h.command({0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}, buf);
    ASSERT_EQ(t.status, status::good);
    const uint32_t length = get_be32(&buf[0]);
    EXPECT_EQ(length % 8, 0u);
    EXPECT_EQ(t.data_transferred, length + 4);
    bool saw_read16 = false;
    for (uint32_t at = 4; at < length + 4; at += 8) {
        saw_read16 = saw_read16 || (buf[at] == 0x88 && get_be16(&buf[at + 6]) == 16);
    }
    EXPECT_TRUE(saw_read16);
    // With timeouts descriptors: 20 bytes each.
    t = h.command({0xa3, 0x0c, 0x80, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}, buf);
    EXPECT_EQ(get_be32(&buf[0]) % 20, 0u);
}

TEST_F(ModeReport, ReportSupportedOpcodesOne) {
    std::vector<uint8_t> buf(64);
    Task t = h.command({0xa3, 0x0c, 1, 0x28, 0, 0, 0, 0, 0, 64, 0, 0}, buf);
    ASSERT_EQ(t.status, status::good);
    EXPECT_EQ(buf[1] & 7, 3);
    EXPECT_EQ(get_be16(&buf[2]), 10);
    EXPECT_EQ(buf[4], 0x28);
    EXPECT_EQ(buf[5], 0x1c);
    // Not supported opcode.
    h.command({0xa3, 0x0c, 1, 0x3b, 0, 0, 0, 0, 0, 64, 0, 0}, buf);
    EXPECT_EQ(buf[1] & 7, 1);
    // A service-action command asked without one, and the reverse.
    EXPECT_EQ(sense_of(h.command({0xa3, 0x0c, 1, 0x9e, 0, 0, 0, 0, 0, 64, 0, 0}, buf)),
              sense::invalid_field_in_cdb);
    EXPECT_EQ(sense_of(h.command({0xa3, 0x0c, 2, 0x28, 0, 0, 0, 0, 0, 64, 0, 0}, buf)),
              sense::invalid_field_in_cdb);
    t = h.command({0xa3, 0x0c, 2, 0x9e, 0, 0x10, 0, 0, 0, 64, 0, 0}, buf);
    EXPECT_EQ(buf[1] & 7, 3);
    EXPECT_EQ(buf[5], 0x10);
    EXPECT_EQ(sense_of(h.command({0xa3, 0x0c, 5, 0, 0, 0, 0, 0, 0, 64, 0, 0}, buf)),
              sense::invalid_field_in_cdb);
}

}  // namespace
}  // namespace vhostd::scsi

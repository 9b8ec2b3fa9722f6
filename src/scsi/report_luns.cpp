// REPORT LUNS (SPC-4 6.33): the LUNs attached to this target, answered whatever LUN the
// command was sent to.
#include <array>

#include "scsi/cdb.hpp"
#include "scsi/command_table.hpp"
#include "scsi/sense.hpp"
#include "scsi/target.hpp"
#include "scsi/target_channel.hpp"
#include "scsi/transfer.hpp"

namespace vhostd::scsi {

namespace {

void encode_lun(uint64_t lun, uint8_t* out) {
    std::fill(out, out + 8, 0);
    if (lun < 256) {
        out[1] = static_cast<uint8_t>(lun);  // SAM-5 4.7.7.2: peripheral device addressing
    } else {
        // SAM-5 4.7.7.4: flat space addressing, 14 bits.
        out[0] = static_cast<uint8_t>(0x40 | ((lun >> 8) & 0x3f));
        out[1] = static_cast<uint8_t>(lun);
    }
}

}  // namespace

Disposition report_luns(Command& cmd) noexcept {
    Task& task = cmd.task;
    const uint8_t select = task.cdb[2];
    // SPC-4 table 161: 00h all LUNs but well-known ones, 01h well-known only (none here),
    // 02h all.
    if (select > 0x02) {
        set_invalid_field(task, true, 2);
        return Disposition::done;
    }
    std::array<uint64_t, kMaxLunsPerTarget> luns{};
    const size_t count = select == 0x01 ? 0 : cmd.channel.lun_ids(luns.data(), luns.size());
    std::array<uint8_t, 8 + 8 * kMaxLunsPerTarget> d{};
    put_be32(&d[0], static_cast<uint32_t>(count * 8));  // LUN LIST LENGTH
    for (size_t i = 0; i < count; ++i) {
        encode_lun(luns[i], &d[8 + 8 * i]);
    }
    reply(task, {d.data(), 8 + 8 * count}, get_be32(task.cdb.data() + 6));
    return Disposition::done;
}

}  // namespace vhostd::scsi

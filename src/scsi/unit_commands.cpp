// Commands about the unit's state: TEST UNIT READY (SPC-4 6.37), REQUEST SENSE (SPC-4 6.29)
// and START STOP UNIT (SBC-3 5.25). The unit is always ready and never stops spinning.
#include <array>

#include "scsi/block_io.hpp"
#include "scsi/cdb.hpp"
#include "scsi/command_table.hpp"
#include "scsi/lun_channel.hpp"
#include "scsi/sense.hpp"
#include "scsi/transfer.hpp"

namespace vhostd::scsi {

Disposition test_unit_ready(Command& cmd) noexcept {
    set_good(cmd.task);
    return Disposition::done;
}

Disposition request_sense(Command& cmd) noexcept {
    Task& task = cmd.task;
    std::array<uint8_t, kFixedSenseLength> d{};
    if (cmd.lun == nullptr) {
        // SPC-4 6.29: to a LUN that does not exist, GOOD with LOGICAL UNIT NOT SUPPORTED.
        build_fixed_sense(d.data(), sense::lun_not_supported);
    } else if (auto ua = cmd.lun->unit().unit_attentions().take(task.initiator)) {
        // SAM-5 5.14: REQUEST SENSE reports (and clears) a pending unit attention. Sense data
        // of failed commands went back with them (autosense), so nothing else is pending.
        const AscAscq code = sense_code(*ua);
        build_fixed_sense(d.data(), {sense_key::unit_attention, code.asc, code.ascq});
    } else {
        build_fixed_sense(d.data(), sense::no_sense);
    }
    reply(task, d, task.cdb[4]);
    return Disposition::done;
}

Disposition start_stop_unit(Command& cmd) noexcept {
    Task& task = cmd.task;
    const bool start = (task.cdb[4] & 0x01) != 0;
    const bool no_flush = (task.cdb[4] & 0x04) != 0;
    // SBC-3 5.25: stopping writes back the cache unless NO_FLUSH.
    if (!start && !no_flush && cmd.lun->unit().bdev()->capabilities().flush) {
        return submit_range(cmd, detail::Step::flush_after_write, block::IoType::flush, 0, 0);
    }
    set_good(task);
    return Disposition::done;
}

}  // namespace vhostd::scsi

// SYNCHRONIZE CACHE (10, 16) and VERIFY (10, 16): commands that name a range but move no data.
#include "scsi/block_io.hpp"
#include "scsi/cdb.hpp"
#include "scsi/command_table.hpp"
#include "scsi/lun_channel.hpp"
#include "scsi/sense.hpp"

namespace vhostd::scsi {

namespace {

// LOGICAL BLOCK ADDRESS OUT OF RANGE unless the range lies inside the unit.
bool check_range(Task& task, LbaRange range, const LogicalUnit& unit) {
    if (range_ok(range.lba, range.blocks, unit.num_blocks())) {
        return true;
    }
    set_check_condition(task, sense::lba_out_of_range);
    return false;
}

}  // namespace

// SYNCHRONIZE CACHE (10, 16) (SBC-3 5.22, 5.23): the whole cache is flushed, whatever range the
// CDB names (allowed: the range is a minimum); the range is still checked.
Disposition synchronize_cache(Command& cmd) noexcept {
    Task& task = cmd.task;
    const uint8_t* cdb = task.cdb.data();
    const LogicalUnit& unit = cmd.lun->unit();
    if (!check_range(task, lba_range(cdb, cdb[0] == op::synchronize_cache_10), unit)) {
        return Disposition::done;
    }
    if (!unit.bdev()->capabilities().flush) {
        set_good(task);  // no volatile cache: nothing to write back
        return Disposition::done;
    }
    return submit_range(cmd, detail::Step::flush_after_write, block::IoType::flush, 0, 0);
}

// VERIFY (10, 16) (SBC-3 5.29, 5.30) with BYTCHK=0 (the only form the usage data admits):
// the device has no separate medium check, so a range inside the device verifies.
Disposition verify(Command& cmd) noexcept {
    Task& task = cmd.task;
    const uint8_t* cdb = task.cdb.data();
    if (check_range(task, lba_range(cdb, cdb[0] == op::verify_10), cmd.lun->unit())) {
        set_good(task);
    }
    return Disposition::done;
}

}  // namespace vhostd::scsi

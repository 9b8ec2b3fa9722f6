// The checks every command goes through before its handler, in SAM-5 order: the LUN exists,
// the command is implemented, its CDB is complete and sets no reserved bit, a pending unit
// attention is reported, the reservation admits it. Then the handler runs.
#include "base/log.hpp"
#include "scsi/block_io.hpp"
#include "scsi/command.hpp"
#include "scsi/command_table.hpp"
#include "scsi/lun_channel.hpp"
#include "scsi/sense.hpp"

namespace vhostd::scsi {

namespace {

// SAM-5 5.14: report the highest-priority pending unit attention instead of running the
// command, and clear it.
bool report_unit_attention(Task& task, LogicalUnit& unit) noexcept {
    const auto ua = unit.unit_attentions().take(task.initiator);
    if (!ua) {
        return false;
    }
    const AscAscq code = sense_code(*ua);
    set_check_condition(task, {sense_key::unit_attention, code.asc, code.ascq});
    return true;
}

// The first byte (and its highest bit) that sets a bit the command does not use.
bool check_reserved_bits(Task& task, const CommandInfo& info) noexcept {
    for (uint8_t i = 1; i < info.cdb_length; ++i) {
        const uint8_t bad = task.cdb[i] & static_cast<uint8_t>(~info.usage[i]);
        if (bad != 0) {
            int bit = 7;
            while (((bad >> bit) & 1) == 0) {
                --bit;
            }
            set_invalid_field(task, true, i, bit);
            return false;
        }
    }
    return true;
}

}  // namespace

Disposition dispatch(Command cmd) noexcept {
    Task& task = cmd.task;
    if (task.cdb_length == 0 || task.cdb_length > kMaxCdbLength) {
        set_check_condition(task, sense::invalid_opcode);
        return Disposition::done;
    }
    const CommandInfo* info = find_command(task.cdb.data());
    if (cmd.lun == nullptr && (info == nullptr || !info->without_lun)) {
        // SPC-4 4.5.6 / SAM-5 5.9.3: a command to a LUN that does not exist.
        set_check_condition(task, sense::lun_not_supported);
        return Disposition::done;
    }
    if (cmd.lun != nullptr && (info == nullptr || !info->without_lun) &&
        report_unit_attention(task, cmd.lun->unit())) {
        return Disposition::done;
    }
    if (info == nullptr) {
        if (opcode_has_service_actions(task.cdb[0])) {
            set_invalid_field(task, true, 1, 4);  // SPC-4 4.2.5.4: unsupported service action
        } else {
            set_check_condition(task, sense::invalid_opcode);
        }
        LOG_RATELIMITED(scsi, debug, "unsupported CDB {:02x}/{:02x}", task.cdb[0], task.cdb[1]);
        return Disposition::done;
    }
    if (task.cdb_length < info->cdb_length) {
        set_invalid_field(task, true, task.cdb_length);  // the transport cut the CDB short
        return Disposition::done;
    }
    if (!check_reserved_bits(task, *info)) {
        return Disposition::done;
    }
    if (cmd.lun != nullptr && info->access != Access::none &&
        cmd.lun->unit().reservations().conflicts(task.initiator, info->access == Access::write)) {
        // SPC-4 5.12.1: RESERVATION CONFLICT status, no sense data.
        task.status = status::reservation_conflict;
        return Disposition::done;
    }
    return info->handler(cmd);
}

}  // namespace vhostd::scsi

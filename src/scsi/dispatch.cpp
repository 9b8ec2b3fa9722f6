// The opcode table: which handler runs a CDB, and the checks every command goes through first
// (LUN existence, unit attentions, reservations).
#include "scsi/command.hpp"
#include "scsi/sense.hpp"

namespace vhostd::scsi {

Disposition dispatch(Command cmd) noexcept {
    if (cmd.lun == nullptr) {
        set_check_condition(cmd.task, sense::lun_not_supported);
        return Disposition::done;
    }
    set_check_condition(cmd.task, sense::invalid_opcode);
    return Disposition::done;
}

Disposition continue_io(Command cmd) noexcept {
    set_check_condition(cmd.task, sense::internal_target_failure);
    return Disposition::done;
}

}  // namespace vhostd::scsi

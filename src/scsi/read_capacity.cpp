// READ CAPACITY (10) and (16) (SBC-3 5.15, 5.16): last LBA, block length, physical block
// exponent and the provisioning bits.
#include <array>
#include <bit>

#include "scsi/cdb.hpp"
#include "scsi/command_table.hpp"
#include "scsi/lun_channel.hpp"
#include "scsi/sense.hpp"
#include "scsi/transfer.hpp"

namespace vhostd::scsi {

Disposition read_capacity_10(Command& cmd) noexcept {
    Task& task = cmd.task;
    // SBC-3 5.15.1: with PMI=0 the LOGICAL BLOCK ADDRESS field must be zero.
    if ((task.cdb[8] & 0x01) == 0 && get_be32(task.cdb.data() + 2) != 0) {
        set_invalid_field(task, true, 2);
        return Disposition::done;
    }
    const LogicalUnit& unit = cmd.lun->unit();
    const uint64_t last = unit.num_blocks() - 1;
    std::array<uint8_t, 8> d{};
    // SBC-3 5.15.2: FFFFFFFFh tells the initiator to use READ CAPACITY (16).
    put_be32(&d[0], last > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(last));
    put_be32(&d[4], unit.block_size());
    reply(task, d, d.size());
    return Disposition::done;
}

Disposition read_capacity_16(Command& cmd) noexcept {
    Task& task = cmd.task;
    const uint8_t* cdb = task.cdb.data();
    if ((cdb[14] & 0x01) == 0 && get_be64(cdb + 2) != 0) {
        set_invalid_field(task, true, 2);
        return Disposition::done;
    }
    const LogicalUnit& unit = cmd.lun->unit();
    const block::Capabilities& caps = unit.bdev()->capabilities();
    std::array<uint8_t, 32> d{};
    put_be64(&d[0], unit.num_blocks() - 1);
    put_be32(&d[8], unit.block_size());
    if (caps.physical_block_size > unit.block_size()) {
        // LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT
        d[13] = static_cast<uint8_t>(
            std::countr_zero(caps.physical_block_size / unit.block_size()) & 0x0f);
    }
    if (caps.discard) {
        d[14] = 0x80;  // LBPME: thin provisioned (LBPRZ 0, see the provisioning VPD page)
    }
    reply(task, d, get_be32(cdb + 10));
    return Disposition::done;
}

}  // namespace vhostd::scsi

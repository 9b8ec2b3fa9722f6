// READ and WRITE (6, 10, 12, 16) (SBC-3 5.8-5.11, 5.32-5.35): range and buffer checks, the
// transfer as one block request over the initiator's buffer, and FUA as a flush after the write.
#include "base/iovec.hpp"
#include "scsi/block_io.hpp"
#include "scsi/cdb.hpp"
#include "scsi/command_table.hpp"
#include "scsi/lun_channel.hpp"
#include "scsi/sense.hpp"
#include "scsi/transfer.hpp"

namespace vhostd::scsi {

namespace {

struct RwParams {
    uint64_t lba = 0;
    uint64_t blocks = 0;
    bool write = false;
    bool fua = false;
};

RwParams parse(const uint8_t* cdb) {
    RwParams p;
    switch (cdb[0]) {
        case op::read_6:
        case op::write_6:
            p.lba = get_be24(cdb + 1) & 0x1fffff;
            p.blocks =
                cdb[4] != 0 ? cdb[4] : 256;  // SBC-3 5.8: 0 means 256 blocks in the 6-byte form
            break;
        case op::read_10:
        case op::write_10:
            p.lba = get_be32(cdb + 2);
            p.blocks = get_be16(cdb + 7);
            p.fua = (cdb[1] & 0x08) != 0;
            break;
        case op::read_12:
        case op::write_12:
            p.lba = get_be32(cdb + 2);
            p.blocks = get_be32(cdb + 6);
            p.fua = (cdb[1] & 0x08) != 0;
            break;
        default:  // 16-byte forms
            p.lba = get_be64(cdb + 2);
            p.blocks = get_be32(cdb + 10);
            p.fua = (cdb[1] & 0x08) != 0;
            break;
    }
    p.write = cdb[0] == op::write_6 || cdb[0] == op::write_10 || cdb[0] == op::write_12 ||
              cdb[0] == op::write_16;
    return p;
}

}  // namespace

Disposition read_write(Command& cmd) noexcept {
    Task& task = cmd.task;
    const LogicalUnit& unit = cmd.lun->unit();
    const RwParams p = parse(task.cdb.data());
    if (!range_ok(p.lba, p.blocks, unit.num_blocks())) {
        set_check_condition(task, sense::lba_out_of_range);
        return Disposition::done;
    }
    if (p.write && unit.bdev()->capabilities().read_only) {
        set_check_condition(task, sense::write_protected);  // SBC-3 4.13
        return Disposition::done;
    }
    if (p.blocks == 0) {
        set_good(task);  // SBC-3 5.9: a zero transfer length is not an error
        return Disposition::done;
    }
    // blocks < 2^32 and block size <= 64 KiB: no overflow.
    const uint64_t bytes = p.blocks * unit.block_size();
    const auto want = p.write ? DataDirection::to_device : DataDirection::from_device;
    if (task.direction != want || task.iov == nullptr || task.transfer_length < bytes) {
        set_overrun(task);
        return Disposition::done;
    }
    // A bigger buffer than the command moves: use its front, report the rest as residual.
    const std::span<iovec> iov =
        iov_drop_back({task.iov, task.iovcnt}, task.transfer_length - bytes);
    task.state.blocks = p.blocks;
    // With the write cache disabled (MODE SELECT, WCE=0) every write behaves as FUA.
    task.state.fua =
        p.write && (p.fua || !unit.write_cache_enabled()) && unit.bdev()->capabilities().flush;
    return submit_rw(cmd, detail::Step::read_write,
                     p.write ? block::IoType::write : block::IoType::read, p.lba, p.blocks,
                     iov.data(), static_cast<uint32_t>(iov.size()));
}

Disposition read_write_continue(Command& cmd) noexcept {
    Task& task = cmd.task;
    if (!io_succeeded(task)) {
        return Disposition::done;
    }
    if (task.state.step == detail::Step::read_write) {
        task.data_transferred = task.state.blocks * cmd.lun->unit().block_size();
        if (task.state.fua) {
            // SBC-3 5.35: FUA=1 completes only when the data is on the medium.
            return submit_range(cmd, detail::Step::flush_after_write, block::IoType::flush, 0, 0);
        }
    }
    task.status = status::good;
    task.sense_length = 0;
    return Disposition::done;
}

}  // namespace vhostd::scsi

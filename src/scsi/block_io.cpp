// Block I/O submission, continuation dispatch and block status -> sense mapping.
#include "scsi/block_io.hpp"

#include "scsi/lun_channel.hpp"
#include "scsi/sense.hpp"

namespace vhostd::scsi {

namespace {

void prepare(Command& cmd, detail::Step step, block::IoType type, uint64_t lba,
             uint64_t blocks) noexcept {
    const uint64_t block_size = cmd.lun->unit().block_size();
    cmd.task.state.step = step;
    block::IoRequest& io = cmd.task.io;
    io.type = type;
    io.unmap = false;
    io.offset = lba * block_size;  // range-checked against the capacity: no overflow
    io.length = blocks * block_size;
    io.iov = nullptr;
    io.iovcnt = 0;
}

}  // namespace

Disposition submit_range(Command& cmd, detail::Step step, block::IoType type, uint64_t lba,
                         uint64_t blocks, bool unmap) noexcept {
    prepare(cmd, step, type, lba, blocks);
    cmd.task.io.unmap = unmap;
    cmd.lun->submit(cmd.task);
    return Disposition::submitted;
}

Disposition submit_rw(Command& cmd, detail::Step step, block::IoType type, uint64_t lba,
                      uint64_t blocks, iovec* iov, uint32_t iovcnt) noexcept {
    prepare(cmd, step, type, lba, blocks);
    cmd.task.io.iov = iov;
    cmd.task.io.iovcnt = iovcnt;
    cmd.lun->submit(cmd.task);
    return Disposition::submitted;
}

bool io_succeeded(Task& task) noexcept {
    switch (task.io.status) {
        case block::IoStatus::success:
            return true;
        case block::IoStatus::io_error:
            set_check_condition(task, task.io.type == block::IoType::read
                                          ? sense::unrecovered_read_error
                                          : sense::write_error);
            break;
        case block::IoStatus::unsupported:
            set_check_condition(task, sense::invalid_field_in_cdb);
            break;
        case block::IoStatus::no_space:
            // SBC-3 4.7.3.6: a thin device out of space.
            set_check_condition(task, sense::space_allocation_failed);
            break;
        case block::IoStatus::aborted:
            set_check_condition(task, sense::lun_communication_failure);
            break;
    }
    task.data_transferred = 0;
    return false;
}

Disposition continue_io(Command cmd) noexcept {
    switch (cmd.task.state.step) {
        case detail::Step::read_write:
        case detail::Step::flush_after_write:
            return read_write_continue(cmd);
        case detail::Step::write_same:
            return write_same_continue(cmd);
        case detail::Step::discard:
            return unmap_continue(cmd);
        case detail::Step::idle:
        case detail::Step::deferred:
            break;
    }
    set_check_condition(cmd.task, sense::internal_target_failure);
    return Disposition::done;
}

}  // namespace vhostd::scsi

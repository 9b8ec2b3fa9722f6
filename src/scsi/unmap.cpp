// UNMAP (SBC-3 5.28): a parameter list of block descriptors, copied into host memory and fully
// validated before the first discard is issued, then discarded one range at a time.
#include <algorithm>

#include "scsi/block_io.hpp"
#include "scsi/cdb.hpp"
#include "scsi/command_table.hpp"
#include "scsi/limits.hpp"
#include "scsi/lun_channel.hpp"
#include "scsi/sense.hpp"
#include "scsi/transfer.hpp"

namespace vhostd::scsi {

namespace {

constexpr uint32_t kHeader = 8;
constexpr uint32_t kDescriptor = 16;

const uint8_t* descriptor(const Task& task, uint32_t i) {
    return task.state.param.data() + kHeader + size_t{i} * kDescriptor;
}

// Moves to the next non-empty descriptor and issues its (first) discard.
Disposition next_step(Command& cmd) noexcept {
    Task& task = cmd.task;
    detail::TaskState& s = task.state;
    while (s.blocks == 0 && s.cursor < s.count) {
        const uint8_t* d = descriptor(task, s.cursor++);
        s.lba = get_be64(d);
        s.blocks = get_be32(d + 8);
    }
    if (s.blocks == 0) {
        task.status = status::good;
        task.sense_length = 0;
        return Disposition::done;
    }
    const uint32_t max = cmd.lun->unit().bdev()->capabilities().max_discard_blocks;
    const uint64_t n = max != 0 ? std::min<uint64_t>(s.blocks, max) : s.blocks;
    const uint64_t lba = s.lba;
    s.lba += n;
    s.blocks -= n;
    return submit_range(cmd, detail::Step::discard, block::IoType::discard, lba, n);
}

}  // namespace

Disposition unmap(Command& cmd) noexcept {
    Task& task = cmd.task;
    const LogicalUnit& unit = cmd.lun->unit();
    const block::Capabilities& caps = unit.bdev()->capabilities();
    if (!caps.discard) {
        // SBC-3 4.7.3.3: LBPU=0 in the Logical Block Provisioning page: UNMAP is not supported.
        set_check_condition(task, sense::invalid_opcode);
        return Disposition::done;
    }
    if (caps.read_only) {
        set_check_condition(task, sense::write_protected);
        return Disposition::done;
    }
    const uint32_t length = get_be16(task.cdb.data() + 7);
    if (length == 0) {
        set_good(task);  // SBC-3 5.28.1: no parameter list is not an error
        return Disposition::done;
    }
    if (length < kHeader) {
        set_check_condition(task, sense::parameter_list_length_error);
        return Disposition::done;
    }
    if (!fetch_parameters(task, length)) {
        return Disposition::done;
    }
    const uint8_t* p = task.state.param.data();
    const uint32_t data_length = get_be16(p);
    const uint32_t descriptors_length = get_be16(p + 2);
    // SBC-3 5.28.2: both lengths count the bytes that follow them, so neither may run past the
    // parameter list.
    if (data_length > length - 2 || descriptors_length > length - kHeader) {
        set_check_condition(task, sense::parameter_list_length_error);
        return Disposition::done;
    }
    // A trailing partial descriptor is ignored (SBC-3 5.28.2: "should be a multiple of 16").
    const uint32_t count = descriptors_length / kDescriptor;
    if (count > kMaxUnmapDescriptors) {
        set_invalid_field(task, false, 2);  // more than the Block Limits page allows
        return Disposition::done;
    }
    const uint64_t capacity = unit.num_blocks();
    for (uint32_t i = 0; i < count; ++i) {
        const uint8_t* d = descriptor(task, i);
        if (!range_ok(get_be64(d), get_be32(d + 8), capacity)) {
            set_check_condition(task, sense::lba_out_of_range);
            task.data_transferred = 0;
            return Disposition::done;
        }
    }
    detail::TaskState& s = task.state;
    s.cursor = 0;
    s.count = count;
    s.blocks = 0;
    return next_step(cmd);
}

Disposition unmap_continue(Command& cmd) noexcept {
    if (!io_succeeded(cmd.task)) {
        return Disposition::done;
    }
    return next_step(cmd);
}

}  // namespace vhostd::scsi

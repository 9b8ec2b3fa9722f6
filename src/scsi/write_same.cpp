// WRITE SAME (10, 16) (SBC-3 5.42, 5.43): one block of data (or none, NDOB) written over a
// range. Zeroes go to the block layer's write_zeroes (UNMAP=1 lets the backend deallocate, and
// the blocks still read back as zeroes, as SBC-3 4.7.3.4 requires); any other pattern is
// written a few blocks per request, every iovec pointing at the one block.
#include <algorithm>
#include <cstring>

#include "base/iovec.hpp"
#include "scsi/block_io.hpp"
#include "scsi/cdb.hpp"
#include "scsi/command_table.hpp"
#include "scsi/limits.hpp"
#include "scsi/lun_channel.hpp"
#include "scsi/sense.hpp"
#include "scsi/transfer.hpp"

namespace vhostd::scsi {

namespace {

// The block of zeroes NDOB writes when the bdev cannot write zeroes itself; only ever read.
alignas(4096) uint8_t zero_block[kMaxBlockSize];

// The pattern block's iovecs live in the (otherwise unused) parameter buffer.
iovec* pattern(Task& task) {
    return reinterpret_cast<iovec*>(task.state.param.data());
}
static_assert(sizeof(iovec) * detail::kWriteSameIovs <= detail::kParamBufferSize);

bool all_zero(std::span<const iovec> iov) {
    for (const iovec& v : iov) {
        const auto* p = static_cast<const uint8_t*>(v.iov_base);
        if (std::any_of(p, p + v.iov_len, [](uint8_t b) { return b != 0; })) {
            return false;
        }
    }
    return true;
}

// Issues the next request of the range [state.lba, state.lba + state.blocks).
Disposition next_step(Command& cmd) noexcept {
    Task& task = cmd.task;
    detail::TaskState& s = task.state;
    const block::Capabilities& caps = cmd.lun->unit().bdev()->capabilities();
    if (s.count == 0) {  // zeroes
        const uint64_t n = caps.max_write_zeroes_blocks != 0
                               ? std::min<uint64_t>(s.blocks, caps.max_write_zeroes_blocks)
                               : s.blocks;
        s.cursor = static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX));
        return submit_range(cmd, detail::Step::write_same, block::IoType::write_zeroes, s.lba,
                            s.cursor, s.unmap);
    }
    uint32_t per_request = static_cast<uint32_t>(detail::kWriteSameIovs / s.count);
    if (caps.max_segments != 0) {
        per_request = std::min(per_request, caps.max_segments / s.count);
    }
    const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(s.blocks, per_request));
    for (uint32_t b = 0; b < n; ++b) {
        std::copy_n(pattern(task), s.count, s.iov.begin() + size_t{b} * s.count);
    }
    s.cursor = n;
    return submit_rw(cmd, detail::Step::write_same, block::IoType::write, s.lba, n, s.iov.data(),
                     n * s.count);
}

}  // namespace

Disposition write_same(Command& cmd) noexcept {
    Task& task = cmd.task;
    const uint8_t* cdb = task.cdb.data();
    const bool ten = cdb[0] == op::write_same_10;
    const auto [lba, blocks] = lba_range(cdb, ten);
    const bool ndob = !ten && (cdb[1] & 0x01) != 0;
    const LogicalUnit& unit = cmd.lun->unit();
    const block::Capabilities& caps = unit.bdev()->capabilities();
    const uint32_t bs = unit.block_size();
    // SBC-3 5.42: WSNZ=1 in the Block Limits page, so 0 blocks ("to the end") is refused, as
    // is more than the MAXIMUM WRITE SAME LENGTH reported there.
    if (blocks == 0 || blocks > kMaxWriteSameBlocks) {
        set_invalid_field(task, true, ten ? 7 : 10);
        return Disposition::done;
    }
    if (!range_ok(lba, blocks, unit.num_blocks())) {
        set_check_condition(task, sense::lba_out_of_range);
        return Disposition::done;
    }
    if (caps.read_only) {
        set_check_condition(task, sense::write_protected);
        return Disposition::done;
    }
    detail::TaskState& s = task.state;
    s.lba = lba;
    s.blocks = blocks;
    s.unmap = (cdb[1] & 0x08) != 0;
    s.count = 0;
    if (ndob) {
        if (!caps.write_zeroes) {
            pattern(task)[0] = {zero_block, bs};
            s.count = 1;
        }
        return next_step(cmd);
    }
    if (task.direction != DataDirection::to_device || task.iov == nullptr ||
        task.transfer_length < bs) {
        set_overrun(task);
        return Disposition::done;
    }
    // The data-out block as at most kWriteSameIovs pieces of the initiator's buffer.
    std::span<iovec> block{task.iov, task.iovcnt};
    block = iov_drop_back(block, task.transfer_length - bs);
    if (block.size() > detail::kWriteSameIovs) {
        set_invalid_field(task, false, 0);  // a block in more than 16 pieces: not worth a bounce
        return Disposition::done;
    }
    task.data_transferred = bs;
    if (caps.write_zeroes && all_zero(block)) {
        return next_step(cmd);
    }
    std::copy(block.begin(), block.end(), pattern(task));
    s.count = static_cast<uint32_t>(block.size());
    return next_step(cmd);
}

Disposition write_same_continue(Command& cmd) noexcept {
    Task& task = cmd.task;
    if (!io_succeeded(task)) {
        return Disposition::done;
    }
    detail::TaskState& s = task.state;
    s.lba += s.cursor;
    s.blocks -= s.cursor;
    if (s.blocks != 0) {
        return next_step(cmd);
    }
    task.status = status::good;
    task.sense_length = 0;
    return Disposition::done;
}

}  // namespace vhostd::scsi

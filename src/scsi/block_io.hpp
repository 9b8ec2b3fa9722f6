// The bridge from commands to the block layer: preparing and submitting a task's IoRequest,
// continuing a command when it completes, and mapping block outcomes to sense data.
#pragma once

#include <cstdint>

#include "block/io_request.hpp"
#include "scsi/command.hpp"
#include "scsi/task_state.hpp"

namespace vhostd::scsi {

// Submits a range request (flush, discard, write_zeroes: no buffer) and records `step`.
Disposition submit_range(Command& cmd, detail::Step step, block::IoType type, uint64_t lba,
                         uint64_t blocks, bool unmap = false) noexcept;
// Submits a read/write of `blocks` at `lba` over task.io.iov (already set) at `step`.
Disposition submit_rw(Command& cmd, detail::Step step, block::IoType type, uint64_t lba,
                      uint64_t blocks, iovec* iov, uint32_t iovcnt) noexcept;

// True if task.io succeeded; otherwise completes the task with the sense data that says why.
bool io_succeeded(Task& task) noexcept;

// The continuations of the multi-step commands, one per file like their handlers.
Disposition read_write_continue(Command& cmd) noexcept;
Disposition write_same_continue(Command& cmd) noexcept;
Disposition unmap_continue(Command& cmd) noexcept;

}  // namespace vhostd::scsi

// Moving command data between the core and the initiator's buffer: data-in replies truncated
// to the allocation length and the buffer (SPC-4 4.2.5.6), and parameter lists copied out of a
// data-out buffer into host memory once, before they are parsed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "scsi/task.hpp"

namespace vhostd::scsi {

// Sends min(data.size(), allocation_length, buffer) bytes of `data` and completes the task
// with GOOD. Allocation length 0 sends nothing and is not an error.
void reply(Task& task, std::span<const uint8_t> data, uint64_t allocation_length) noexcept;

// Copies the `length`-byte parameter list of a data-out command into task.state.param (at most
// its size: the caller checks `length` against what it accepts first). False, with the task
// completed as CHECK CONDITION, if the buffer holds less than `length` or is not data-out.
[[nodiscard]] bool fetch_parameters(Task& task, uint32_t length) noexcept;

// Marks the task as needing a bigger (or differently directed) buffer than the transport gave:
// CHECK CONDITION, INVALID FIELD IN CDB, task.overrun set.
void set_overrun(Task& task) noexcept;

}  // namespace vhostd::scsi

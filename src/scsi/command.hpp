// The command layer's internal interface: every command handler gets a Command (the task, the
// logical unit if the LUN exists, the channel) and either finishes it at once or submits I/O
// whose completion continues it.
#pragma once

#include <cstdint>

#include "scsi/lun_channel.hpp"
#include "scsi/task.hpp"

namespace vhostd::scsi {

class TargetChannel;

enum class Disposition : uint8_t {
    done,       // the task's result fields are final
    submitted,  // task.io is with the backend; continue_io() runs on its completion
};

struct Command {
    Task& task;
    LunChannel* lun;  // nullptr: the LUN is not attached
    const TargetChannel& channel;
};

// Runs the command in task.cdb (the execute() entry point of the command layer).
Disposition dispatch(Command cmd) noexcept;
// Continues a command after its I/O completed (task.io.status is the backend's outcome).
Disposition continue_io(Command cmd) noexcept;

}  // namespace vhostd::scsi

// Task: one SCSI command as a transport (virtio-scsi, ...) hands it to the SCSI target core, and
// the status, sense data and residual the core hands back. Transports preallocate one Task per
// queue slot, so the I/O path allocates nothing.
#pragma once

#include <array>
#include <cstdint>

#include <sys/uio.h>

#include "block/io_request.hpp"
#include "scsi/task_state.hpp"

namespace vhostd::scsi {

// Direction of the data phase, from the initiator's point of view of the buffer.
enum class DataDirection : uint8_t {
    none,         // no data buffer
    from_device,  // data-in: the core writes the initiator's buffer (READ, INQUIRY, ...)
    to_device,    // data-out: the core reads the initiator's buffer (WRITE, MODE SELECT, ...)
};

// SAM-5 5.3 status codes.
namespace status {
inline constexpr uint8_t good = 0x00;
inline constexpr uint8_t check_condition = 0x02;
inline constexpr uint8_t busy = 0x08;
inline constexpr uint8_t reservation_conflict = 0x18;
inline constexpr uint8_t task_set_full = 0x28;
inline constexpr uint8_t task_aborted = 0x40;
}  // namespace status

inline constexpr size_t kMaxCdbLength = 32;
inline constexpr size_t kMaxSenseLength = 252;  // SPC-4 4.5.1: sense data is at most 252 bytes
// Initiators (I_T nexuses) a logical unit tells apart for unit attentions and persistent
// reservations: Task::initiator must be below this.
inline constexpr uint32_t kMaxInitiators = 64;

struct Task;

// Completion sink. Called exactly once per execute(), on the reactor of the channel that
// executed the task, and NEVER from inside execute() or a task-management call: commands that
// need no I/O complete from the channel's poller on a later reactor iteration.
class TaskCompletion {
  public:
    virtual void task_complete(Task& task) noexcept = 0;

  protected:
    ~TaskCompletion() = default;
};

struct Task {
    // --- set by the transport before TargetChannel::execute() ---
    std::array<uint8_t, kMaxCdbLength> cdb{};  // copied out of guest memory by the transport
    uint8_t cdb_length = 0;                    // valid bytes of cdb (6..32)
    uint64_t lun = 0;        // LUN number within the target (0..16383), decoded by the transport
    uint32_t initiator = 0;  // I_T nexus index, < kMaxInitiators (virtio-scsi: always 0)
    uint64_t tag = 0;        // the initiator's task tag, matched by ABORT TASK
    DataDirection direction = DataDirection::none;
    // The initiator's data buffer. The core and the backend may rewrite the entries (trimming
    // the buffer to the command's length); the transport rebuilds them before reusing the task.
    iovec* iov = nullptr;
    uint32_t iovcnt = 0;
    uint64_t transfer_length = 0;  // bytes the buffer holds (the iov total)
    TaskCompletion* completion = nullptr;

    // --- results, valid in task_complete() ---
    uint8_t status = status::good;
    // The task was aborted by task management (status is task_aborted); a transport that
    // reports aborts out of band (virtio-scsi's VIRTIO_SCSI_S_ABORTED) looks at this.
    bool aborted = false;
    // The command needed more data than the buffer holds (or a data phase in the other
    // direction); status is CHECK CONDITION / INVALID FIELD IN CDB. virtio-scsi may report
    // VIRTIO_SCSI_S_OVERRUN instead.
    bool overrun = false;
    uint8_t sense_length = 0;  // 0 unless status is check_condition; fixed format (70h)
    std::array<uint8_t, kMaxSenseLength> sense{};
    // Bytes moved to or from the buffer; residual = transfer_length - data_transferred.
    uint64_t data_transferred = 0;

    [[nodiscard]] uint64_t residual() const { return transfer_length - data_transferred; }

    // --- core scratch; transports leave these alone ---
    block::IoRequest io;
    detail::TaskState state;
};

}  // namespace vhostd::scsi

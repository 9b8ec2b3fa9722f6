// The SCSI core's per-task scratch, embedded in Task so the I/O path allocates nothing.
// Private to the core: transports neither read nor write it.
#pragma once

#include <array>
#include <cstdint>

#include <sys/uio.h>

namespace vhostd::scsi {
class LunChannel;
struct Task;
}  // namespace vhostd::scsi

namespace vhostd::scsi::detail {

// Multi-step commands (FUA writes, UNMAP lists, WRITE SAME with data) walk through steps.
enum class Step : uint8_t { idle, deferred, read_write, flush_after_write, discard, write_same };

inline constexpr size_t kMaxUnmapDescriptors = 16;  // reported in the Block Limits VPD page
inline constexpr size_t kParamBufferSize = 8 + 16 * kMaxUnmapDescriptors;
inline constexpr size_t kWriteSameIovs = 16;

struct TaskState {
    Task* prev = nullptr;  // the channel's in-flight list
    Task* next = nullptr;
    Task* deferred_next = nullptr;  // the channel's list of tasks completed without I/O
    LunChannel* lun = nullptr;      // nullptr: answered without a logical unit
    Step step = Step::idle;
    bool abort_requested = false;  // a TMF aborted it while its I/O was in flight
    bool lun_removed = false;      // the LUN was detached while its I/O was in flight
    bool fua = false;              // a write to make durable before completing
    bool unmap = false;            // WRITE SAME: the backend may deallocate
    uint64_t lba = 0;              // next range of a multi-step command, in blocks
    uint64_t blocks = 0;           // blocks left (READ/WRITE: the transfer)
    uint32_t cursor = 0;           // UNMAP: next descriptor; WRITE SAME: blocks in the current step
    uint32_t count = 0;            // UNMAP: descriptors; WRITE SAME: iovecs per block (0: zeroes)
    uint32_t param_length = 0;
    // Parameter list copied from the buffer; aligned so that WRITE SAME can keep iovecs here.
    alignas(iovec) std::array<uint8_t, kParamBufferSize> param{};
    std::array<iovec, kWriteSameIovs> iov{};  // WRITE SAME: one block, repeated
};

}  // namespace vhostd::scsi::detail

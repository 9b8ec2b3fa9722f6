// IoRequest: one block I/O as devices hand it to the block layer. Devices preallocate these
// (one per queue slot) so the I/O path allocates nothing; backends keep their bookkeeping in
// the request's own scratch fields.
#pragma once

#include <cstdint>

#include <sys/uio.h>

namespace vhostd::block {

enum class IoType : uint8_t { read, write, flush, discard, write_zeroes };
const char* to_string(IoType type);

// Outcome of a request; devices map it to their own status codes in one place.
enum class IoStatus : uint8_t {
    success,
    io_error,     // the backend failed the I/O (EIO and friends)
    unsupported,  // the bdev lacks the capability (e.g. discard)
    no_space,     // thin backend out of space (ENOSPC)
    aborted,      // cancelled: device reset, bdev removal
};
const char* to_string(IoStatus status);

struct IoRequest;

// Completion sink. Called exactly once per submitted request, on the submitting reactor,
// never from inside submit().
class IoCompletion {
  public:
    virtual void io_complete(IoRequest& request) noexcept = 0;

  protected:
    ~IoCompletion() = default;
};

struct IoRequest {
    IoType type = IoType::read;
    bool unmap = false;   // write_zeroes: the backend may deallocate instead of writing
    uint64_t offset = 0;  // bytes; a multiple of the bdev's block size
    uint64_t length = 0;  // bytes; a multiple of the block size (read/write: the iov total)
    // Read/write buffers. Between submit() and completion a backend may rewrite the entries
    // and advance iov/iovcnt (resubmitting a short transfer); devices must not rely on either
    // after submit() and must reset both before reusing the request.
    iovec* iov = nullptr;
    uint32_t iovcnt = 0;
    IoCompletion* completion = nullptr;
    IoStatus status = IoStatus::success;  // set by the backend before completion

    // --- block-layer and backend scratch; devices leave these alone ---
    IoRequest* next = nullptr;   // intrusive link for backend queues
    uint64_t transferred = 0;    // bytes done so far (resubmission of short transfers)
    uint64_t submit_ns = 0;      // submission time, for latency statistics
    uint32_t backend_state = 0;  // backend-private (uring: retry flags and attempt count)
    // The device's completion sink while the bdev channel (block/bdev_channel.hpp) has it.
    IoCompletion* upper_completion = nullptr;
};

}  // namespace vhostd::block

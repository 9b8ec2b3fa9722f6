// IoRequest: one block I/O as devices hand it to the block layer. Devices preallocate these
// (one per queue slot) so the I/O path allocates nothing. The bdev layer and the backends keep
// their bookkeeping in the request's scratch area, which devices cannot reach: its fields are
// accessible only through block/bdev_module.hpp's scratch().
#pragma once

#include <cstdint>

#include <sys/uio.h>

#include "reactor/mailbox.hpp"

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

namespace detail {

// What the bdev layer and a backend remember about a request while it is theirs.
struct IoScratchFields {
    IoRequest* next = nullptr;        // intrusive link for queues (RequestList)
    uint64_t transferred = 0;         // bytes done so far (resubmission of short transfers)
    uint64_t submit_ticks = 0;        // submission time, for latency statistics
    uint32_t backend_state = 0;       // backend-private (uring: retry flags, attempt count)
    int64_t backend_result = 0;       // backend-private (a result from a foreign thread)
    IoCompletion* upper = nullptr;    // the device's sink while the bdev channel has it
    void* backend_context = nullptr;  // backend-private (nbd: the channel a request is on)
    reactor::MailboxNode mailbox;     // completion handed over from a foreign thread

    void reset() noexcept {
        next = nullptr;
        transferred = 0;
        submit_ticks = 0;
        backend_state = 0;
        backend_result = 0;
        upper = nullptr;
        backend_context = nullptr;
        mailbox.next.store(nullptr, std::memory_order_relaxed);
    }
};

}  // namespace detail

// Opaque to devices: only scratch() (block/bdev_module.hpp) reaches the fields.
class IoScratch {
  public:
    IoScratch() = default;
    // Copying a request (devices reset theirs by assignment) starts with fresh scratch.
    IoScratch(const IoScratch&) noexcept {}
    IoScratch& operator=(const IoScratch&) noexcept {
        fields_.reset();
        return *this;
    }

  private:
    friend detail::IoScratchFields& scratch(IoRequest& request) noexcept;
    detail::IoScratchFields fields_;
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
    IoScratch scratch_area;               // the block layer's; see block/bdev_module.hpp
};

}  // namespace vhostd::block

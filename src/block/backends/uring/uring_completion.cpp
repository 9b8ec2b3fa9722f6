// io_uring channel, completion side: reaping CQEs and what each result means: success,
// a short transfer to continue, an O_DIRECT refusal to retry buffered, a write-zeroes
// fallback, or an errno mapped to an IoStatus.
#include <cstring>
#include <span>

#include "base/iovec.hpp"
#include "base/log.hpp"
#include "block/backends/uring/uring_channel.hpp"
#include "block/backends/uring/uring_request_state.hpp"

namespace vhostd::block {

using namespace uring_state;

namespace {

constexpr unsigned kReapBatch = 64;
constexpr size_t kMaxReapPerPoll = UringChannel::kRingEntries;

IoStatus status_from_errno(int err) {
    switch (err) {
        case EOPNOTSUPP:  // == ENOTSUP on Linux: the file system or device cannot do it
            return IoStatus::unsupported;
        case ENOSPC:
        case EDQUOT:
            return IoStatus::no_space;
        default:
            return IoStatus::io_error;
    }
}

bool is_transfer(const IoRequest& r) {
    return r.type == IoType::read || r.type == IoType::write;
}

}  // namespace

size_t UringChannel::reap() noexcept {
    size_t total = 0;
    while (total < kMaxReapPerPoll) {
        io_uring_cqe* cqes[kReapBatch];
        const unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, kReapBatch);
        if (n == 0) {
            break;
        }
        // Copy out and release the CQ slots first: completion callbacks may submit again.
        struct Reaped {
            IoRequest* request;
            int res;
        } reaped[kReapBatch];
        for (unsigned i = 0; i < n; ++i) {
            reaped[i] = {static_cast<IoRequest*>(io_uring_cqe_get_data(cqes[i])), cqes[i]->res};
        }
        io_uring_cq_advance(&ring_, n);
        in_flight_ -= n;
        for (unsigned i = 0; i < n; ++i) {
            on_cqe(*reaped[i].request, reaped[i].res);
        }
        total += n;
    }
    return total;
}

void UringChannel::on_cqe(IoRequest& r, int res) noexcept {
    if (res < 0) {
        on_error(r, -res);
    } else if (is_transfer(r)) {
        on_transfer(r, static_cast<uint64_t>(res));
    } else {
        complete(r, IoStatus::success);
    }
}

void UringChannel::on_transfer(IoRequest& r, uint64_t bytes) noexcept {
    const uint64_t remaining = r.length - scratch(r).transferred;
    if (bytes >= remaining) {
        scratch(r).transferred = r.length;
        complete(r, IoStatus::success);
        return;
    }
    if (bytes == 0 || (scratch(r).backend_state & kAttemptMask) >= kMaxAttempts) {
        // No progress: the file shrank under us (EOF), or the device keeps stalling.
        LOG_RATELIMITED(block, warn, "bdev {}: {} at offset {} stopped after {} of {} bytes",
                        bdev_name_, to_string(r.type), r.offset, scratch(r).transferred + bytes,
                        r.length);
        complete(r, IoStatus::io_error);
        return;
    }
    // A short transfer (page-cache pressure, a device limit): carry on from where it stopped,
    // rewriting the request's iovecs in place.
    scratch(r).transferred += bytes;
    const std::span<iovec> rest = iov_drop_front(std::span<iovec>(r.iov, r.iovcnt), bytes);
    r.iov = rest.data();
    r.iovcnt = static_cast<uint32_t>(rest.size());
    ++scratch(r).backend_state;
    ++stats_.short_resubmits;
    start(r);
}

void UringChannel::on_error(IoRequest& r, int err) noexcept {
    if (err == EINVAL && is_transfer(r) && file_->direct_io &&
        (scratch(r).backend_state & kBuffered) == 0) {
        // O_DIRECT wants buffers (and offsets) aligned for the device. Guests normally align,
        // but one that does not must still get its I/O done: retry through the page cache.
        scratch(r).backend_state |= kBuffered;
        ++stats_.buffered_retries;
        LOG_RATELIMITED(block, info, "bdev {}: O_DIRECT refused a {} at offset {}; retrying",
                        bdev_name_, to_string(r.type), r.offset);
        start(r);
        return;
    }
    if (err == EOPNOTSUPP && r.type == IoType::write_zeroes && r.unmap &&
        (scratch(r).backend_state & kNoPunch) == 0) {
        // Block devices punch holes only where the device unmaps to zeroes; zeroing works
        // more widely.
        scratch(r).backend_state |= kNoPunch;
        start(r);
        return;
    }
    if ((err == EAGAIN || err == EINTR) &&
        (scratch(r).backend_state & kAttemptMask) < kMaxAttempts) {
        ++scratch(r).backend_state;
        start(r);
        return;
    }
    LOG_RATELIMITED(block, warn, "bdev {}: {} at offset {} length {} failed: {}", bdev_name_,
                    to_string(r.type), r.offset, r.length, std::strerror(err));
    complete(r, status_from_errno(err));
}

size_t UringChannel::complete_deferred() noexcept {
    // Only what was queued before this call: callbacks that resubmit queue behind.
    RequestList batch = done_.take();
    size_t n = 0;
    while (IoRequest* r = batch.pop_front()) {
        r->completion->io_complete(*r);
        ++n;
    }
    return n;
}

}  // namespace vhostd::block

// io_uring channel: setup and teardown, SQE preparation, the overflow list, batched
// submission and the adaptive-polling handshake. What a completion means is in
// uring_completion.cpp.
#include "block/backends/uring/uring_channel.hpp"

#include <algorithm>
#include <cstring>

#include <fcntl.h>

#include "base/event_fd.hpp"
#include "base/log.hpp"
#include "block/backends/uring/uring_request_state.hpp"

namespace vhostd::block {

using namespace uring_state;

namespace {

// Discarded ranges read back as zeroes; KEEP_SIZE: the file never changes size.
constexpr int kPunchHole = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
constexpr int kZeroRange = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;

}  // namespace

Result<std::unique_ptr<UringChannel>> UringChannel::create(reactor::Reactor& reactor,
                                                           std::shared_ptr<const UringFile> file,
                                                           const RequestLimits& limits,
                                                           std::string bdev_name) {
    std::unique_ptr<UringChannel> channel(
        new UringChannel(reactor, std::move(file), limits, std::move(bdev_name)));
    VHOSTD_TRY(channel->init());
    return channel;
}

UringChannel::UringChannel(reactor::Reactor& reactor, std::shared_ptr<const UringFile> file,
                           const RequestLimits& limits, std::string bdev_name)
    : reactor_(reactor),
      file_(std::move(file)),
      limits_(limits),
      bdev_name_(std::move(bdev_name)) {}

Result<void> UringChannel::init() {
    // No COOP_TASKRUN: the kernel must be free to post completions (and signal the eventfd)
    // while this thread sleeps in epoll, not only when it next enters the kernel.
    if (const int rc = io_uring_queue_init(kRingEntries, &ring_, 0); rc < 0) {
        return make_error(-rc, "bdev {}: cannot create an io_uring with {} entries", bdev_name_,
                          kRingEntries);
    }
    ring_ready_ = true;
    if (reactor_.mode() != reactor::PollMode::always) {
        event_fd_ = VHOSTD_TRY(make_event_fd());
        if (const int rc = io_uring_register_eventfd(&ring_, event_fd_.get()); rc < 0) {
            return make_error(-rc, "bdev {}: cannot register an eventfd with io_uring", bdev_name_);
        }
        event_fd_registered_ = true;
        // Waking the reactor is the eventfd's whole job: the poller reaps on the iteration that
        // follows.
        watch_ = VHOSTD_TRY(reactor_.watch_wake_fd(event_fd_.get()));
    }
    reactor_.add_poller(*this);
    poller_added_ = true;
    return {};
}

UringChannel::~UringChannel() {
    if (poller_added_) {
        reactor_.remove_poller(*this);
    }
    if (watch_) {
        reactor_.unwatch_fd(*watch_);
    }
    if (!ring_ready_) {
        return;
    }
    if (in_flight_ > 0 || !parked_.empty() || !done_.empty()) {
        LOG_ERROR(block, "bdev {}: channel destroyed with {} requests in flight{}", bdev_name_,
                  in_flight_, parked_.empty() && done_.empty() ? "" : " and more queued");
        wait_for_kernel();
    }
    if (event_fd_registered_) {
        io_uring_unregister_eventfd(&ring_);
    }
    io_uring_queue_exit(&ring_);
}

void UringChannel::wait_for_kernel() noexcept {
    // Guest buffers must not be touched after the owner thinks the I/O is gone: cancel what
    // can be cancelled (a read waiting on a pipe-like file), then wait for every request the
    // kernel has, without running completions (the owner is being torn down).
    io_uring_sqe* cancel = io_uring_get_sqe(&ring_);
    if (cancel != nullptr) {
        io_uring_prep_cancel64(cancel, 0, IORING_ASYNC_CANCEL_ANY);  // kernel 5.19+
        io_uring_sqe_set_data(cancel, nullptr);
    }
    io_uring_submit(&ring_);
    // SQEs the kernel did not take never run; the cancel SQE, if among them, is the last.
    uint32_t unsubmitted = io_uring_sq_ready(&ring_);
    if (cancel != nullptr && unsubmitted > 0) {
        --unsubmitted;
    }
    uint32_t waiting = in_flight_ - std::min(unsubmitted, in_flight_);
    while (waiting > 0) {
        io_uring_cqe* cqe = nullptr;
        const int rc = io_uring_wait_cqe(&ring_, &cqe);
        if (rc == -EINTR) {
            continue;
        }
        if (rc < 0) {
            break;
        }
        if (io_uring_cqe_get_data(cqe) != nullptr) {  // not the cancel request's own CQE
            --waiting;
        }
        io_uring_cqe_seen(&ring_, cqe);
    }
}

void UringChannel::submit(IoRequest& request) noexcept {
    scratch(request).transferred = 0;
    scratch(request).backend_state = 0;
    const IoStatus status = check_request(request, limits_);
    if (status != IoStatus::success) {
        if (status == IoStatus::io_error) {
            LOG_RATELIMITED(block, warn, "bdev {}: refusing {} at offset {} length {}", bdev_name_,
                            to_string(request.type), request.offset, request.length);
        }
        finish_later(request, status);
        return;
    }
    if (request.length == 0 && request.type != IoType::flush) {
        finish_later(request, IoStatus::success);  // nothing to do; fallocate would say EINVAL
        return;
    }
    start(request);
}

void UringChannel::finish_later(IoRequest& request, IoStatus status) noexcept {
    request.status = status;
    done_.push_back(request);
}

void UringChannel::start(IoRequest& request) noexcept {
    // Behind parked requests a new one waits its turn, which keeps submission order.
    if (!parked_.empty() || !prepare(request)) {
        parked_.push_back(request);
        ++stats_.parked;
    }
}

bool UringChannel::prepare(IoRequest& r) noexcept {
    if (in_flight_ >= kRingEntries) {
        return false;
    }
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
        return false;
    }
    const int fd =
        (scratch(r).backend_state & kBuffered) != 0 ? file_->buffered() : file_->fd.get();
    const auto offset = static_cast<off_t>(r.offset);
    const auto length = static_cast<off_t>(r.length);
    switch (r.type) {
        case IoType::read:
            io_uring_prep_readv(sqe, fd, r.iov, r.iovcnt, r.offset + scratch(r).transferred);
            break;
        case IoType::write:
            io_uring_prep_writev(sqe, fd, r.iov, r.iovcnt, r.offset + scratch(r).transferred);
            break;
        case IoType::flush:
            io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
            break;
        case IoType::discard:
            io_uring_prep_fallocate(sqe, fd, kPunchHole, offset, length);
            break;
        case IoType::write_zeroes: {
            const bool punch = r.unmap && (scratch(r).backend_state & kNoPunch) == 0;
            io_uring_prep_fallocate(sqe, fd, punch ? kPunchHole : kZeroRange, offset, length);
            break;
        }
    }
    io_uring_sqe_set_data(sqe, &r);
    ++in_flight_;
    return true;
}

size_t UringChannel::retry_parked() noexcept {
    size_t started = 0;
    while (!parked_.empty() && prepare(*parked_.front())) {
        parked_.pop_front();
        ++started;
    }
    return started;
}

bool UringChannel::submit_prepared() noexcept {
    if (io_uring_sq_ready(&ring_) == 0) {
        return false;
    }
    // One io_uring_enter for everything prepared since the last poll. Whatever the kernel
    // does not take (EAGAIN, EBUSY) stays in the SQ and goes with the next call.
    const int rc = io_uring_submit(&ring_);
    if (rc < 0 && rc != -EAGAIN && rc != -EBUSY && rc != -EINTR) {
        LOG_RATELIMITED(block, err, "bdev {}: io_uring_submit failed: {}", bdev_name_,
                        std::strerror(-rc));
    }
    return rc > 0;
}

reactor::PollResult UringChannel::poll() noexcept {
    size_t work = reap();
    if (!done_.empty()) {
        work += complete_deferred();
    }
    if (!parked_.empty()) {
        work += retry_parked();
    }
    // Last, so that requests the completions above submitted go out in the same batch.
    work += submit_prepared() ? 1 : 0;
    return work > 0 ? reactor::PollResult::busy : reactor::PollResult::idle;
}

bool UringChannel::enter_interrupt_mode() noexcept {
    retry_parked();
    submit_prepared();
    // Signals counted while busy polling would wake the reactor at once; clear them first,
    // then look at the CQ: a completion after this look signals the eventfd again.
    drain_event_fd(event_fd_.get());
    const bool waiting_for_room = !parked_.empty() && in_flight_ == 0;
    return done_.empty() && io_uring_sq_ready(&ring_) == 0 && io_uring_cq_ready(&ring_) == 0 &&
           !waiting_for_room;
}

}  // namespace vhostd::block

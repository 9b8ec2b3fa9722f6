// RbdChannel: requests to librbd, answers through the Mailbox, timeouts by epoch counts.
#include "block/backends/rbd/rbd_channel.hpp"

#include <cstddef>
#include <thread>

#include "base/log.hpp"

namespace vhostd::block {
namespace {

// backend_state: the request never reached librbd; request.status is already its outcome.
constexpr uint32_t kNotStarted = 1;

// Where a request's MailboxNode sits inside it (the node lives in the scratch area, which only
// the module contract reaches, so offsetof cannot name it).
std::ptrdiff_t mailbox_offset() {
    IoRequest probe;
    return reinterpret_cast<char*>(&scratch(probe).mailbox) - reinterpret_cast<char*>(&probe);
}
const std::ptrdiff_t kMailboxOffset = mailbox_offset();

IoRequest& request_of(reactor::MailboxNode& node) {
    return *reinterpret_cast<IoRequest*>(reinterpret_cast<char*>(&node) - kMailboxOffset);
}

IoStatus status_of(const IoRequest& request, int64_t result) {
    if (result < 0) {
        return result == -ENOSPC || result == -EDQUOT ? IoStatus::no_space : IoStatus::io_error;
    }
    // A read answers the bytes it read; anything short is a failure (never partial data).
    if (request.type == IoType::read && static_cast<uint64_t>(result) != request.length) {
        return IoStatus::io_error;
    }
    return IoStatus::success;
}

}  // namespace

void rbd_io_done(void* arg, int64_t result) noexcept {
    auto& request = *static_cast<IoRequest*>(arg);
    static_cast<RbdChannel*>(scratch(request).backend_context)->answered(request, result);
}

void RbdImageState::update_health() {
    const bool stuck = stuck_channels.load(std::memory_order_relaxed) != 0;
    if (bdev == nullptr || stuck == reported_failed) {
        return;
    }
    reported_failed = stuck;
    if (stuck) {
        LOG_ERROR(block,
                  "bdev {}: librbd holds requests past twice the I/O timeout; failing the "
                  "bdev until they come back",
                  bdev->name());
    }
    BdevModuleAccess::report(*bdev, stuck ? BdevEvent::failed : BdevEvent::recovered);
}

void RbdImageState::note_answer(bool ok) {
    if (ok) {
        if (down.load(std::memory_order_relaxed) && down.exchange(false)) {
            recoveries.fetch_add(1, std::memory_order_relaxed);
        }
    } else if (!down.load(std::memory_order_relaxed)) {
        down.store(true);
    }
}

Result<std::unique_ptr<RbdChannel>> RbdChannel::create(reactor::Reactor& reactor, const Bdev& bdev,
                                                       std::shared_ptr<RbdImageState> state,
                                                       std::chrono::milliseconds io_timeout) {
    std::unique_ptr<RbdChannel> channel(
        new RbdChannel(reactor, bdev, std::move(state), io_timeout));
    RbdChannel* self = channel.get();
    channel->mailbox_ = VHOSTD_TRY(reactor::Mailbox::create(
        reactor, [self](reactor::MailboxNode& node) { self->deliver(request_of(node)); }));
    const auto period = std::max(io_timeout / kEpochsPerTimeout, std::chrono::milliseconds(1));
    channel->tick_timer_ = reactor.add_timer(period, [self] { self->tick(); });
    return channel;
}

RbdChannel::RbdChannel(reactor::Reactor& reactor, const Bdev& bdev,
                       std::shared_ptr<RbdImageState> state, std::chrono::milliseconds io_timeout)
    : reactor_(reactor),
      bdev_name_(bdev.name()),
      limits_(RequestLimits::of(bdev)),
      state_(std::move(state)),
      io_timeout_(io_timeout) {
    state_->channels.fetch_add(1, std::memory_order_relaxed);
}

RbdChannel::~RbdChannel() {
    if (tick_timer_) {
        reactor_.cancel_timer(*tick_timer_);
    }
    if (stuck_) {
        set_stuck(false);
    }
    // The last answer's thread may still be leaving Mailbox::post (its wake-up write): the
    // mailbox must outlive that. A few instructions; yield in case that thread was preempted.
    while (posting_.load(std::memory_order_acquire) != 0) {
        std::this_thread::yield();
    }
    mailbox_.reset();
    if (overdue_ != 0) {
        LOG_ERROR(block, "bdev {}: RBD channel closed with {} request(s) still in librbd",
                  bdev_name_, overdue_);
    }
    state_->channels.fetch_sub(1, std::memory_order_relaxed);
}

void RbdChannel::submit(IoRequest& request) noexcept {
    auto& s = scratch(request);
    s.backend_context = this;
    s.backend_state = 0;
    request.status = check_request(request, limits_);
    // Nothing to transfer (an empty read or write): done without librbd.
    const bool empty =
        (request.type == IoType::read || request.type == IoType::write) && request.length == 0;
    if (request.status != IoStatus::success || empty) {
        s.backend_state = kNotStarted;
        mailbox_->post(s.mailbox);  // completions never run inside submit()
        return;
    }
    s.transferred = epoch_;
    ++started_in_epoch_[epoch_ % kEpochSlots];
    state_->inflight.fetch_add(1, std::memory_order_relaxed);
    // The request's own iovecs go to librbd (zero copy). librbd's readv/writev take any total
    // length (an image is byte-addressed); the block layer already made it whole blocks.
    const RbdIo io{.type = request.type,
                   .offset = request.offset,
                   .length = request.length,
                   .iov = request.iov,
                   .iovcnt = static_cast<int>(request.iovcnt)};
    const int rc = state_->api->submit(state_->image, io, &request);
    if (rc < 0) {
        --started_in_epoch_[epoch_ % kEpochSlots];
        state_->inflight.fetch_sub(1, std::memory_order_relaxed);
        state_->errors.fetch_add(1, std::memory_order_relaxed);
        LOG_RATELIMITED(block, warn, "bdev {}: librbd refused a {}: {}", bdev_name_,
                        to_string(request.type), std::strerror(-rc));
        request.status = IoStatus::io_error;
        s.backend_state = kNotStarted;
        mailbox_->post(s.mailbox);
    }
}

void RbdChannel::answered(IoRequest& request, int64_t result) noexcept {
    posting_.fetch_add(1, std::memory_order_relaxed);
    scratch(request).backend_result = result;
    mailbox_->post(scratch(request).mailbox);
    posting_.fetch_sub(1, std::memory_order_release);
}

void RbdChannel::deliver(IoRequest& request) noexcept {
    auto& s = scratch(request);
    if (s.backend_state == kNotStarted) {
        request.completion->io_complete(request);
        return;
    }
    const int64_t result = s.backend_result;
    state_->inflight.fetch_sub(1, std::memory_order_relaxed);
    // Overdue requests were moved out of their epoch's count when the clock passed them.
    const bool overdue = s.transferred + kEpochsPerTimeout + 1 <= epoch_;
    if (overdue) {
        --overdue_;
        state_->overdue.fetch_sub(1, std::memory_order_relaxed);
        // Counted as a timeout when it became overdue: whatever librbd says now, the request
        // failed (never reported done late).
        request.status = IoStatus::io_error;
        if (overdue_ == 0 && stuck_) {
            set_stuck(false);
        }
    } else {
        --started_in_epoch_[s.transferred % kEpochSlots];
        request.status = status_of(request, result);
        if (result == -ETIMEDOUT) {
            state_->timeouts.fetch_add(1, std::memory_order_relaxed);
        }
    }
    if (request.status != IoStatus::success) {
        state_->errors.fetch_add(1, std::memory_order_relaxed);
        LOG_RATELIMITED(block, warn, "bdev {}: RBD {} at {} failed: {}", bdev_name_,
                        to_string(request.type), request.offset,
                        overdue ? "no answer within the I/O timeout"
                                : std::strerror(static_cast<int>(-result)));
    }
    // A timeout says the cluster is not answering; any other answer says it is.
    state_->note_answer(!overdue && result != -ETIMEDOUT);
    request.completion->io_complete(request);
}

void RbdChannel::tick() {
    ++epoch_;
    // The epoch whose requests are now past the timeout: from here on they are overdue.
    const uint64_t late = epoch_ - kEpochsPerTimeout - 1;
    uint32_t& stale = started_in_epoch_[late % kEpochSlots];
    if (stale != 0) {
        if (overdue_ == 0) {
            overdue_since_ = epoch_;
        }
        overdue_ += stale;
        state_->overdue.fetch_add(stale, std::memory_order_relaxed);
        state_->timeouts.fetch_add(stale, std::memory_order_relaxed);
        state_->note_answer(false);
        LOG_RATELIMITED(block, warn,
                        "bdev {}: {} RBD request(s) unanswered after {} ms; they fail (IOERR) "
                        "when librbd gives them back",
                        bdev_name_, stale, io_timeout_.count());
        stale = 0;
    }
    if (overdue_ != 0 && !stuck_ && epoch_ - overdue_since_ >= kEpochsPerTimeout) {
        set_stuck(true);
    }
}

void RbdChannel::set_stuck(bool stuck) {
    stuck_ = stuck;
    if (stuck) {
        state_->stuck_channels.fetch_add(1, std::memory_order_relaxed);
    } else {
        state_->stuck_channels.fetch_sub(1, std::memory_order_relaxed);
    }
    state_->control->post([state = state_] { state->update_health(); });
}

}  // namespace vhostd::block

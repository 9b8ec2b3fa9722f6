// NbdChannel: requests as NBD commands, counted in libnbd's free callbacks, with timeouts by
// epoch counts and waiting while the connection is down.
#include "block/backends/nbd/nbd_channel.hpp"

#include <utility>

#include "base/log.hpp"

namespace vhostd::block {
namespace {

// A request's NBD bookkeeping, packed into its scratch (the fault bdevs stacked on top keep
// backend_state): commands not yet released, commands answered with success, commands issued.
// transferred holds the epoch the request started in.
struct Pieces {
    static constexpr uint64_t kMask = 0xffff;
    static uint64_t pending(uint64_t v) { return v & kMask; }
    static uint64_t succeeded(uint64_t v) { return (v >> 16) & kMask; }
    static uint64_t issued(uint64_t v) { return (v >> 32) & kMask; }
    static uint64_t make(uint64_t pending, uint64_t succeeded, uint64_t issued) {
        return pending | (succeeded << 16) | (issued << 32);
    }
};

constexpr size_t kMaxPieces = Pieces::kMask;

}  // namespace

NbdChannel::NbdChannel(reactor::Reactor& reactor, const Bdev& bdev, Options options,
                       std::shared_ptr<NbdCounters> counters)
    : reactor_(reactor),
      bdev_name_(bdev.name()),
      limits_(RequestLimits::of(bdev)),
      options_(std::move(options)),
      counters_(std::move(counters)) {
    counters_->channels.fetch_add(1, std::memory_order_relaxed);
    reactor_.add_poller(*this);
    const auto period =
        std::max(options_.io_timeout / kEpochsPerTimeout, std::chrono::milliseconds(1));
    tick_timer_ = reactor_.add_timer(period, [this] { tick(); });
    link_ = std::make_unique<NbdLink>(
        reactor_, options_.link,
        [this](NbdLink::State state, const Error* error) { on_link(state, error); });
}

NbdChannel::~NbdChannel() {
    closing_ = true;
    link_.reset();  // releases whatever is still on the wire (the owner drained us first)
    if (tick_timer_) {
        reactor_.cancel_timer(*tick_timer_);
    }
    reactor_.remove_poller(*this);
    if (connected_) {
        counters_->connected.fetch_sub(1, std::memory_order_relaxed);
    }
    counters_->channels.fetch_sub(1, std::memory_order_relaxed);
    if (!done_.empty() || !waiting_.empty()) {
        LOG_ERROR(block, "bdev {}: NBD channel closed with requests still queued", bdev_name_);
    }
}

void NbdChannel::submit(IoRequest& request) noexcept {
    request.status = check_request(request, limits_);
    if (request.status != IoStatus::success) {
        done_.push_back(request);
        return;
    }
    scratch(request).transferred = epoch_;
    if (!connected_) {
        counters_->waiting.fetch_add(1, std::memory_order_relaxed);
        waiting_.push_back(request);
        return;
    }
    start(request);
}

void NbdChannel::start(IoRequest& request) noexcept {
    NbdHandle* h = link_->handle();
    NbdApi& api = link_->api();
    auto& s = scratch(request);
    // The epoch of submission (set by submit): time spent waiting for a connection counts
    // against the same timeout.
    s.backend_context = this;
    ++started_in_epoch_[s.transferred % kEpochSlots];
    const NbdCallback callback{.answered = &NbdChannel::on_command,
                               .user_data = &request,
                               .released = &NbdChannel::on_release};
    const NbdExport& e = link_->exported();

    uint64_t commands = 1;
    if (request.type == IoType::read || request.type == IoType::write) {
        commands = static_cast<uint64_t>(request.iovcnt);
    }
    if (commands == 0 || commands > kMaxPieces || (request.type == IoType::flush && !e.can_flush)) {
        // Nothing to send: an empty transfer, or a flush the server says it does not need.
        --started_in_epoch_[s.transferred % kEpochSlots];
        finish(request, commands > kMaxPieces ? IoStatus::io_error : IoStatus::success);
        return;
    }
    // Every command gets exactly one release, even one that fails to start; the count is
    // set before the first is issued so that no release can finish the request early.
    s.backend_result = static_cast<int64_t>(Pieces::make(commands, 0, commands));
    counters_->inflight.fetch_add(commands, std::memory_order_relaxed);
    uint64_t offset = request.offset;
    uint64_t issued = 0;
    bool refused = false;
    for (; issued < commands && !refused; ++issued) {
        int64_t cookie = -1;
        switch (request.type) {
            case IoType::read: {
                const iovec& v = request.iov[issued];
                cookie = api.pread(h, v.iov_base, v.iov_len, offset, callback);
                offset += v.iov_len;
                break;
            }
            case IoType::write: {
                const iovec& v = request.iov[issued];
                cookie = api.pwrite(h, v.iov_base, v.iov_len, offset, callback);
                offset += v.iov_len;
                break;
            }
            case IoType::flush:
                cookie = api.flush(h, callback);
                break;
            case IoType::discard:
                cookie = api.trim(h, request.length, request.offset, callback);
                break;
            case IoType::write_zeroes:
                cookie = api.zero(h, request.length, request.offset, callback);
                break;
        }
        refused = cookie == -1;
    }
    if (issued < commands) {
        // The commands never issued will never be released: take them off the count (the
        // request has failed: its succeeded count cannot reach issued).
        const uint64_t v = static_cast<uint64_t>(s.backend_result);
        const uint64_t never = commands - issued;
        counters_->inflight.fetch_sub(never, std::memory_order_relaxed);
        s.backend_result = static_cast<int64_t>(
            Pieces::make(Pieces::pending(v) - never, Pieces::succeeded(v), Pieces::issued(v)));
        if (Pieces::pending(v) == never) {
            --started_in_epoch_[s.transferred % kEpochSlots];
            finish(request, IoStatus::io_error);
        }
    }
    link_->kick();
}

int NbdChannel::on_command(void* user_data, int* error) {
    auto& request = *static_cast<IoRequest*>(user_data);
    if (*error == 0) {
        auto& s = scratch(request);
        const uint64_t v = static_cast<uint64_t>(s.backend_result);
        s.backend_result = static_cast<int64_t>(
            Pieces::make(Pieces::pending(v), Pieces::succeeded(v) + 1, Pieces::issued(v)));
    }
    return 1;  // retire the command: its release follows at once
}

void NbdChannel::on_release(void* user_data) {
    auto& request = *static_cast<IoRequest*>(user_data);
    auto& s = scratch(request);
    auto& channel = *static_cast<NbdChannel*>(s.backend_context);
    channel.counters_->inflight.fetch_sub(1, std::memory_order_relaxed);
    const uint64_t v = static_cast<uint64_t>(s.backend_result);
    const uint64_t pending = Pieces::pending(v) - 1;
    s.backend_result =
        static_cast<int64_t>(Pieces::make(pending, Pieces::succeeded(v), Pieces::issued(v)));
    if (pending != 0) {
        return;
    }
    --channel.started_in_epoch_[s.transferred % kEpochSlots];
    // Released without an answer (the connection was closed under it) or answered with an
    // error: a failure, never reported as done.
    channel.finish(request, Pieces::succeeded(v) == Pieces::issued(v) ? IoStatus::success
                                                                      : IoStatus::io_error);
}

void NbdChannel::finish(IoRequest& request, IoStatus status) noexcept {
    if (closing_) {
        return;  // the owner broke the drain rule; nobody is there to tell
    }
    request.status = status;
    done_.push_back(request);
}

reactor::PollResult NbdChannel::poll() noexcept {
    if (done_.empty()) {
        return reactor::PollResult::idle;
    }
    // Completions may resubmit: deliver only what is queued now.
    RequestList ready = std::exchange(done_, RequestList());
    while (IoRequest* r = ready.pop_front()) {
        r->completion->io_complete(*r);
    }
    return reactor::PollResult::busy;
}

void NbdChannel::on_link(NbdLink::State state, const Error* error) {
    const bool was = connected_;
    connected_ = state == NbdLink::State::ready;
    if (connected_ && !was) {
        counters_->connected.fetch_add(1, std::memory_order_relaxed);
        // The bdev's count is the sum over its channels: each link's own count only ever grows
        // by one per re-established connection.
        if (link_ && link_->reconnects() != 0) {
            counters_->reconnects.fetch_add(1, std::memory_order_relaxed);
        }
        if (link_ && link_->exported().size != limits_.size_bytes()) {
            LOG_RATELIMITED(block, info, "bdev {}: the NBD export is now {} bytes (the bdev {})",
                            bdev_name_, link_->exported().size, limits_.size_bytes());
            if (options_.export_resized) {
                options_.export_resized(link_->exported().size);
            }
        }
        LOG_RATELIMITED(block, info, "bdev {}: NBD connected", bdev_name_);
        while (IoRequest* r = waiting_.pop_front()) {
            counters_->waiting.fetch_sub(1, std::memory_order_relaxed);
            start(*r);
        }
    } else if (!connected_ && was) {
        counters_->connected.fetch_sub(1, std::memory_order_relaxed);
    }
    if (!connected_ && error != nullptr && !closing_) {
        LOG_RATELIMITED(block, warn, "bdev {}: NBD connection down ({}); reconnecting", bdev_name_,
                        error->describe());
    }
}

void NbdChannel::tick() {
    ++epoch_;
    // Epochs old enough that anything started in them is past the timeout.
    const uint64_t late = epoch_ - kEpochsPerTimeout - 1;
    while (IoRequest* r = waiting_.front()) {
        if (scratch(*r).transferred > late) {
            break;
        }
        waiting_.pop_front();
        counters_->waiting.fetch_sub(1, std::memory_order_relaxed);
        counters_->timeouts.fetch_add(1, std::memory_order_relaxed);
        finish(*r, IoStatus::io_error);
    }
    uint32_t& stale = started_in_epoch_[late % kEpochSlots];
    if (stale != 0 && link_) {
        counters_->timeouts.fetch_add(stale, std::memory_order_relaxed);
        LOG_RATELIMITED(block, warn,
                        "bdev {}: {} NBD request(s) unanswered after {} ms; breaking the "
                        "connection",
                        bdev_name_, stale, options_.io_timeout.count());
        // Closing the handle releases every command on the wire: they fail, and no late
        // reply can reach their buffers.
        link_->fail(Error{ETIMEDOUT, "request timed out"});
    }
    // The slot the next epoch reuses must be empty: anything still counted there was failed
    // just now or earlier.
    started_in_epoch_[(epoch_ + 1) % kEpochSlots] = 0;
}

}  // namespace vhostd::block

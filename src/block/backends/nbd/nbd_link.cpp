// NbdLink: connect, drive the socket from the reactor, break and reconnect with backoff.
#include "block/backends/nbd/nbd_link.hpp"

#include <algorithm>

#include <sys/epoll.h>

#include "base/log.hpp"

namespace vhostd::block {

Error NbdLink::nbd_error(const char* what) const {
    const int code = options_.api->last_errno();
    return Error{code != 0 ? code : EIO, fmt::format("{}: {}", what, options_.api->last_error())};
}

NbdLink::NbdLink(reactor::Reactor& reactor, Options options, StateChanged on_state)
    : reactor_(reactor),
      options_(std::move(options)),
      on_state_(std::move(on_state)),
      backoff_(options_.first_backoff) {
    connect();
}

NbdLink::~NbdLink() {
    on_state_ = nullptr;
    close_handle();
    if (timer_) {
        reactor_.cancel_timer(*timer_);
    }
}

void NbdLink::set_state(State state, const Error* error) {
    state_ = state;
    if (on_state_) {
        on_state_(state, error);
    }
}

void NbdLink::connect() {
    if (timer_) {
        reactor_.cancel_timer(*timer_);
        timer_.reset();
    }
    handle_ = options_.api->create();
    if (handle_ == nullptr) {
        fail(nbd_error("nbd_create"));
        return;
    }
    if (options_.api->connect_uri(handle_, options_.uri) == -1) {
        fail(nbd_error("connecting"));
        return;
    }
    state_ = State::connecting;
    timer_ = reactor_.add_timer(options_.connect_timeout, [this] {
        if (state_ == State::connecting) {
            fail(Error{ETIMEDOUT, fmt::format("no NBD handshake within {} ms",
                                              options_.connect_timeout.count())});
        }
    });
    check_progress();
}

void NbdLink::on_fd(uint32_t events) {
    if (handle_ == nullptr) {
        return;
    }
    int rc = 0;
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
        rc = options_.api->notify_read(handle_);
    }
    if (rc != -1 && handle_ != nullptr && (events & EPOLLOUT) != 0) {
        rc = options_.api->notify_write(handle_);
    }
    if (rc == -1) {
        fail(nbd_error("NBD connection"));
        return;
    }
    check_progress();
}

void NbdLink::check_progress() {
    if (handle_ == nullptr) {
        return;
    }
    if (options_.api->is_dead_or_closed(handle_)) {
        fail(nbd_error("NBD connection"));
        return;
    }
    if (state_ == State::connecting && options_.api->is_ready(handle_)) {
        become_ready();
        if (handle_ == nullptr) {
            return;  // the state callback broke it again
        }
    }
    watch();
}

void NbdLink::kick() {
    if (handle_ != nullptr) {
        check_progress();
    }
}

void NbdLink::watch() {
    const unsigned direction = options_.api->direction(handle_);
    uint32_t events = 0;
    if ((direction & kNbdWantsRead) != 0) {
        events |= EPOLLIN;
    }
    if ((direction & kNbdWantsWrite) != 0) {
        events |= EPOLLOUT;
    }
    if (watch_ && events == watched_events_) {
        return;
    }
    if (watch_) {
        reactor_.unwatch_fd(*watch_);
        watch_.reset();
    }
    const int fd = options_.api->fd(handle_);
    if (fd < 0) {
        return;  // not connected to a socket yet
    }
    auto watched = reactor_.watch_fd(fd, events, [this](uint32_t ready) { on_fd(ready); });
    if (!watched) {
        fail(watched.error());
        return;
    }
    watch_ = *watched;
    watched_events_ = events;
}

void NbdLink::become_ready() {
    if (timer_) {
        reactor_.cancel_timer(*timer_);
        timer_.reset();
    }
    NbdExport e;
    NbdApi& api = *options_.api;
    const int64_t size = api.size(handle_);
    e.size = size > 0 ? static_cast<uint64_t>(size) : 0;
    e.read_only = api.is_read_only(handle_);
    e.can_flush = api.can_flush(handle_);
    e.can_trim = api.can_trim(handle_);
    e.can_zero = api.can_zero(handle_);
    e.can_multi_conn = api.can_multi_conn(handle_);
    const int64_t preferred = api.preferred_block_size(handle_);
    e.preferred_block_size = preferred > 0 ? static_cast<uint32_t>(preferred) : 0;
    export_ = e;
    backoff_ = options_.first_backoff;
    if (ever_ready_) {
        ++reconnects_;
    }
    ever_ready_ = true;
    set_state(State::ready, nullptr);
}

void NbdLink::close_handle() {
    if (watch_) {
        reactor_.unwatch_fd(*watch_);
        watch_.reset();
    }
    watched_events_ = 0;
    if (handle_ != nullptr) {
        NbdHandle* h = handle_;
        handle_ = nullptr;
        // Every command not retired is released here: its free callback runs, inside this
        // call, and no completion callback comes after it.
        options_.api->close(h);
    }
}

void NbdLink::fail(const Error& error) {
    if (timer_) {
        reactor_.cancel_timer(*timer_);
        timer_.reset();
    }
    close_handle();
    if (!options_.reconnect) {
        set_state(State::closed, &error);
        return;
    }
    const auto wait = backoff_;
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
    timer_ = reactor_.add_timer(wait, [this] { connect(); });
    set_state(State::down, &error);
}

}  // namespace vhostd::block

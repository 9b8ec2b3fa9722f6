// NbdLink: connect, drive the socket from the reactor, break and reconnect with backoff.
#include "block/backends/nbd/nbd_link.hpp"

#include <algorithm>

#include <libnbd.h>
#include <sys/epoll.h>

#include "base/log.hpp"

namespace vhostd::block {
namespace {

Error nbd_error(const char* what) {
    const int code = nbd_get_errno();
    const char* message = nbd_get_error();
    return Error{code != 0 ? code : EIO,
                 fmt::format("{}: {}", what, message != nullptr ? message : "unknown error")};
}

}  // namespace

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
    handle_ = nbd_create();
    if (handle_ == nullptr) {
        fail(nbd_error("nbd_create"));
        return;
    }
    // Structured replies (libnbd's default): reads may come back in chunks and errors are
    // reported per command.
    nbd_set_request_structured_replies(handle_, true);
    if (nbd_aio_connect_uri(handle_, options_.uri.c_str()) == -1) {
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
        rc = nbd_aio_notify_read(handle_);
    }
    if (rc != -1 && handle_ != nullptr && (events & EPOLLOUT) != 0) {
        rc = nbd_aio_notify_write(handle_);
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
    if (nbd_aio_is_dead(handle_) == 1 || nbd_aio_is_closed(handle_) == 1) {
        fail(nbd_error("NBD connection"));
        return;
    }
    if (state_ == State::connecting && nbd_aio_is_ready(handle_) == 1) {
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
    const unsigned direction = nbd_aio_get_direction(handle_);
    uint32_t events = 0;
    if ((direction & LIBNBD_AIO_DIRECTION_READ) != 0) {
        events |= EPOLLIN;
    }
    if ((direction & LIBNBD_AIO_DIRECTION_WRITE) != 0) {
        events |= EPOLLOUT;
    }
    if (watch_ && events == watched_events_) {
        return;
    }
    if (watch_) {
        reactor_.unwatch_fd(*watch_);
        watch_.reset();
    }
    const int fd = nbd_aio_get_fd(handle_);
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
    const int64_t size = nbd_get_size(handle_);
    e.size = size > 0 ? static_cast<uint64_t>(size) : 0;
    e.read_only = nbd_is_read_only(handle_) == 1;
    e.can_flush = nbd_can_flush(handle_) == 1;
    e.can_trim = nbd_can_trim(handle_) == 1;
    e.can_zero = nbd_can_zero(handle_) == 1;
    e.can_multi_conn = nbd_can_multi_conn(handle_) == 1;
    const int64_t preferred = nbd_get_block_size(handle_, LIBNBD_SIZE_PREFERRED);
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
        nbd_handle* h = handle_;
        handle_ = nullptr;
        // Every command not retired is released here: its free callback runs, inside this
        // call, and no completion callback comes after it.
        nbd_close(h);
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

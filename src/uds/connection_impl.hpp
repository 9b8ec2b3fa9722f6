// Connection's member definitions: included by the one file of each transport that
// instantiates uds::Connection<Traits> (everyone else sees the extern template).
#pragma once

#include <algorithm>
#include <utility>

#include <poll.h>
#include <sys/epoll.h>

#include "base/log.hpp"
#include "uds/connection.hpp"
#include "uds/framed_reader.hpp"

namespace vhostd::uds {

template <class Traits>
Result<std::unique_ptr<Connection<Traits>>> Connection<Traits>::create(
    reactor::Reactor& reactor, UniqueFd socket, Session& session, std::string name,
    Closed on_closed, Options options) {
    std::unique_ptr<Connection> connection(new Connection(
        reactor, std::move(socket), session, std::move(name), std::move(on_closed), options));
    VHOSTD_TRY(connection->update_watch());
    if (options.handshake_timeout.count() > 0) {
        // A few checks per timeout period; the deadline is then met within a quarter of it.
        const auto period = std::clamp(options.handshake_timeout / 4, std::chrono::milliseconds(10),
                                       std::chrono::milliseconds(1000));
        Connection* raw = connection.get();
        connection->deadline_timer_ = reactor.add_timer(period, [raw] { raw->check_deadlines(); });
    }
    return connection;
}

template <class Traits>
Connection<Traits>::Connection(reactor::Reactor& reactor, UniqueFd socket, Session& session,
                               std::string name, Closed on_closed, Options options)
    : reactor_(reactor),
      socket_(std::move(socket)),
      session_(session),
      name_(std::move(name)),
      on_closed_(std::move(on_closed)),
      options_(options),
      connected_at_(std::chrono::steady_clock::now()) {}

template <class Traits>
Connection<Traits>::~Connection() {
    if (watch_) {
        reactor_.unwatch_fd(*watch_);
    }
    if (deadline_timer_) {
        reactor_.cancel_timer(*deadline_timer_);
    }
}

template <class Traits>
void Connection<Traits>::check_deadlines() {
    if (!socket_ || closing_ || in_handle_ || waiting_) {
        return;  // a request in the session (the device settling) is ours to finish, not theirs
    }
    const auto now = std::chrono::steady_clock::now();
    std::string_view late;
    if (!Traits::handshake_done(session_) && now - connected_at_ > options_.handshake_timeout) {
        late = Traits::kNoHandshake;
    } else if (partial_since_ && now - *partial_since_ > options_.handshake_timeout) {
        late = "a message left half-sent";
    }
    if (late.empty()) {
        return;
    }
    LOG_RATELIMITED_AS(Traits::kLog, warn, "{}: closing the connection: {} within {} ms", name_,
                       late, options_.handshake_timeout.count());
    closing_ = true;
    finish_close();
}

template <class Traits>
bool Connection<Traits>::peer_gone() const {
    if (!socket_) {
        return true;
    }
    pollfd pfd{socket_.get(), POLLRDHUP, 0};
    return ::poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

template <class Traits>
void Connection<Traits>::close() {
    on_closed_ = nullptr;
    if (in_handle_) {
        closing_ = true;  // pump() closes once the session call returns
        return;
    }
    finish_close();
}

template <class Traits>
Result<void> Connection<Traits>::update_watch() {
    uint32_t events = 0;
    // Reading pauses while a request waits for the session and while replies pile up unsent.
    if (!waiting_ && writer_.pending_bytes() < kMaxUnsentBytes) {
        events |= EPOLLIN | EPOLLRDHUP;
    }
    if (writer_.pending()) {
        events |= EPOLLOUT;
    }
    if (watch_ && events == watched_events_) {
        return {};
    }
    if (watch_) {
        reactor_.unwatch_fd(*watch_);
        watch_.reset();
    }
    // With no events, epoll still reports EPOLLHUP and EPOLLERR: a peer that dies while we wait
    // for the session is noticed.
    watch_ = VHOSTD_TRY(
        reactor_.watch_fd(socket_.get(), events, [this](uint32_t ready) { on_events(ready); }));
    watched_events_ = events;
    return {};
}

template <class Traits>
void Connection<Traits>::on_events(uint32_t events) {
    if ((events & (EPOLLHUP | EPOLLERR)) != 0 && (events & EPOLLIN) == 0) {
        LOG_RATELIMITED_AS(Traits::kLog, info, "{}: {} disconnected", name_, Traits::kPeer);
        closing_ = true;
    }
    pump();
}

template <class Traits>
void Connection<Traits>::pump() {
    while (!closing_ && !waiting_ && writer_.pending_bytes() < kMaxUnsentBytes) {
        Message message;
        auto status = reader_.read(socket_.get(), message);
        if (!status) {
            fail(status.error());
            break;
        }
        if (*status == ReadStatus::would_block) {
            if (!reader_.mid_message()) {
                partial_since_.reset();
            } else if (!partial_since_) {
                partial_since_ = std::chrono::steady_clock::now();
            }
            break;
        }
        partial_since_.reset();
        if (*status == ReadStatus::closed) {
            LOG_RATELIMITED_AS(Traits::kLog, info, "{}: {} disconnected", name_, Traits::kPeer);
            closing_ = true;
            break;
        }
        waiting_ = true;
        in_handle_ = true;
        session_.handle(std::move(message),
                        [this](Response response) { on_response(std::move(response)); });
        in_handle_ = false;
    }
    if constexpr (Traits::kReplyBeforeClose) {
        // Replies go out before a close the session asked for.
        if (socket_) {
            if (auto flushed = writer_.flush(socket_.get()); !flushed && !closing_) {
                fail(flushed.error());
            }
        }
    } else if (!closing_) {
        if (auto flushed = writer_.flush(socket_.get()); !flushed) {
            fail(flushed.error());
        }
    }
    if (!closing_) {
        if (auto watched = update_watch(); !watched) {
            fail(watched.error());
        }
    }
    if (closing_) {
        finish_close();  // last: may end in the server's callback
    }
}

template <class Traits>
void Connection<Traits>::on_response(Response response) {
    waiting_ = false;
    if (!socket_) {
        return;  // closed meanwhile: nobody to tell
    }
    if (response.reply) {
        writer_.enqueue(std::move(*response.reply));
    }
    if (response.close) {
        closing_ = true;
    }
    // A response that arrives later (the session finished waiting) resumes the connection.
    if (!in_handle_) {
        pump();
    }
}

template <class Traits>
void Connection<Traits>::fail(const Error& error) {
    LOG_RATELIMITED_AS(Traits::kLog, warn, "{}: closing the connection: {}", name_,
                       error.describe());
    closing_ = true;
}

template <class Traits>
void Connection<Traits>::finish_close() {
    if (watch_) {
        reactor_.unwatch_fd(*watch_);
        watch_.reset();
    }
    if (deadline_timer_) {
        reactor_.cancel_timer(*deadline_timer_);
        deadline_timer_.reset();
    }
    socket_.reset();
    reader_.reset();                      // fds of a partial message
    writer_ = typename Traits::Writer();  // fds of unsent replies
    auto on_closed = std::move(on_closed_);
    on_closed_ = nullptr;
    if (on_closed) {
        on_closed();
    }
}

}  // namespace vhostd::uds

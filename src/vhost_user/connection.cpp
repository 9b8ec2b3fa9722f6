// Connection: non-blocking message I/O between a frontend socket and its session.
#include "vhost_user/connection.hpp"

#include <algorithm>

#include <poll.h>
#include <sys/epoll.h>

#include "base/log.hpp"

namespace vhostd::vhost_user {

Result<std::unique_ptr<Connection>> Connection::create(reactor::Reactor& reactor, UniqueFd socket,
                                                       Session& session, std::string name,
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

Connection::Connection(reactor::Reactor& reactor, UniqueFd socket, Session& session,
                       std::string name, Closed on_closed, Options options)
    : reactor_(reactor),
      socket_(std::move(socket)),
      session_(session),
      name_(std::move(name)),
      on_closed_(std::move(on_closed)),
      options_(options),
      connected_at_(std::chrono::steady_clock::now()) {}

Connection::~Connection() {
    if (watch_) {
        reactor_.unwatch_fd(*watch_);
    }
    if (deadline_timer_) {
        reactor_.cancel_timer(*deadline_timer_);
    }
}

void Connection::check_deadlines() {
    if (!socket_ || closing_ || in_handle_ || waiting_) {
        return;  // a request in the session (queues draining) is ours to finish, not theirs
    }
    const auto now = std::chrono::steady_clock::now();
    const char* late = nullptr;
    if (!session_.owned() && now - connected_at_ > options_.handshake_timeout) {
        late = "no SET_OWNER";
    } else if (partial_since_ && now - *partial_since_ > options_.handshake_timeout) {
        late = "a message left half-sent";
    }
    if (late == nullptr) {
        return;
    }
    LOG_RATELIMITED(vhost_user, warn, "{}: closing the connection: {} within {} ms", name_, late,
                    options_.handshake_timeout.count());
    closing_ = true;
    finish_close();
}

bool Connection::peer_gone() const {
    if (!socket_) {
        return true;
    }
    pollfd pfd{socket_.get(), POLLRDHUP, 0};
    return ::poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

void Connection::close() {
    on_closed_ = nullptr;
    if (in_handle_) {
        closing_ = true;  // pump() closes once the session call returns
        return;
    }
    finish_close();
}

Result<void> Connection::update_watch() {
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
    // With no events, epoll still reports EPOLLHUP and EPOLLERR: a frontend that dies while we
    // wait for queues is noticed.
    watch_ = VHOSTD_TRY(
        reactor_.watch_fd(socket_.get(), events, [this](uint32_t ready) { on_events(ready); }));
    watched_events_ = events;
    return {};
}

void Connection::on_events(uint32_t events) {
    if ((events & (EPOLLHUP | EPOLLERR)) != 0 && (events & EPOLLIN) == 0) {
        LOG_RATELIMITED(vhost_user, info, "{}: frontend disconnected", name_);
        closing_ = true;
    }
    pump();
}

void Connection::pump() {
    while (!closing_ && !waiting_ && writer_.pending_bytes() < kMaxUnsentBytes) {
        Message message;
        auto status = reader_.read(socket_.get(), message);
        if (!status) {
            fail(status.error());
            break;
        }
        if (*status == MessageReader::Status::would_block) {
            if (!reader_.mid_message()) {
                partial_since_.reset();
            } else if (!partial_since_) {
                partial_since_ = std::chrono::steady_clock::now();
            }
            break;
        }
        partial_since_.reset();
        if (*status == MessageReader::Status::closed) {
            LOG_RATELIMITED(vhost_user, info, "{}: frontend disconnected", name_);
            closing_ = true;
            break;
        }
        waiting_ = true;
        in_handle_ = true;
        session_.handle(std::move(message),
                        [this](Session::Response response) { on_response(std::move(response)); });
        in_handle_ = false;
    }
    if (!closing_) {
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

void Connection::on_response(Session::Response response) {
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
    // A response that arrives later (queues drained) resumes the connection.
    if (!in_handle_) {
        pump();
    }
}

void Connection::fail(const Error& error) {
    LOG_RATELIMITED(vhost_user, warn, "{}: closing the connection: {}", name_, error.describe());
    closing_ = true;
}

void Connection::finish_close() {
    if (watch_) {
        reactor_.unwatch_fd(*watch_);
        watch_.reset();
    }
    if (deadline_timer_) {
        reactor_.cancel_timer(*deadline_timer_);
        deadline_timer_.reset();
    }
    socket_.reset();
    reader_.reset();  // fds of a partial message
    auto on_closed = std::move(on_closed_);
    on_closed_ = nullptr;
    if (on_closed) {
        on_closed();
    }
}

}  // namespace vhostd::vhost_user

// Server's member definitions: included by the one file of each transport that instantiates
// uds::Server<Traits> (everyone else sees the extern template).
#pragma once

#include <cerrno>
#include <cstring>
#include <utility>

#include <sys/epoll.h>
#include <sys/socket.h>

#include "base/log.hpp"
#include "uds/connection_impl.hpp"
#include "uds/server.hpp"

namespace vhostd::uds {

template <class Traits>
Server<Traits>::Server(reactor::Reactor& reactor, std::string socket_path, Options options,
                       MakeSession make_session)
    : reactor_(reactor),
      path_(std::move(socket_path)),
      options_(std::move(options)),
      make_session_(std::move(make_session)),
      self_(std::make_shared<Server*>(this)) {
    if (options_.name.empty()) {
        options_.name = path_;
    }
}

template <class Traits>
Server<Traits>::~Server() {
    if (connection_) {
        connection_->close();
    }
    connection_.reset();
    session_.reset();
    close_listener();
}

template <class Traits>
Result<void> Server<Traits>::start() {
    listener_ = VHOSTD_TRY(UnixListener::listen(path_, options_.socket));
    VHOSTD_TRY(watch_listener());
    ::vhostd::log::write(Traits::kLog, ::vhostd::log::Level::info, "{}: {}", options_.name,
                         Traits::kListening);
    return {};
}

template <class Traits>
Result<void> Server<Traits>::watch_listener() {
    if (listen_watch_ || !listener_.valid()) {
        return {};
    }
    listen_watch_ = VHOSTD_TRY(
        reactor_.watch_fd(listener_.fd(), EPOLLIN, [this](uint32_t) { accept_pending(); }));
    return {};
}

template <class Traits>
void Server<Traits>::unwatch_listener() {
    if (listen_watch_) {
        reactor_.unwatch_fd(*listen_watch_);
        listen_watch_.reset();
    }
}

template <class Traits>
void Server<Traits>::close_listener() {
    unwatch_listener();
    listener_.close();  // removes the socket file if it is still ours
}

template <class Traits>
void Server<Traits>::accept_pending() {
    // A peer that reconnects can knock before we have read its old connection's EOF (both
    // events in one epoll batch). Tear the old session down first: the newcomer waits in the
    // backlog and is served once the old session is gone, instead of being turned away.
    if (state_ == State::connected && connection_->peer_gone()) {
        connection_->close();
        begin_teardown();
        return;
    }
    for (;;) {
        UniqueFd socket(::accept4(listener_.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!socket) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                // EMFILE and friends: the pending connection stays queued; log and retry on the
                // next event rather than spinning.
                LOG_RATELIMITED_AS(Traits::kLog, err, "{}: accept failed: {}", options_.name,
                                   std::strerror(errno));
            }
            return;
        }
        if (state_ != State::idle) {
            // One peer per device (vfio-user spec "Socket": a dedicated socket per connection):
            // a second one would fight the first over the same queues.
            LOG_RATELIMITED_AS(Traits::kLog, warn,
                               "{}: refusing a second {} connection while one is served",
                               options_.name, Traits::kPeer);
            continue;  // `socket` closes here
        }
        serve(std::move(socket));
    }
}

template <class Traits>
void Server<Traits>::serve(UniqueFd socket) {
    ++connections_;
    std::string name = fmt::format("{}#{}", options_.name, connections_);
    session_ = make_session_(name);
    auto connection = Connection<Traits>::create(reactor_, std::move(socket), *session_, name,
                                                 [this] { begin_teardown(); },
                                                 {.handshake_timeout = options_.handshake_timeout});
    if (!connection) {
        LOG_RATELIMITED_AS(Traits::kLog, err, "{}: cannot serve the connection: {}", name,
                           connection.error().describe());
        session_.reset();
        return;
    }
    connection_ = std::move(*connection);
    state_ = State::connected;
    LOG_RATELIMITED_AS(Traits::kLog, info, "{}: {} connected", name, Traits::kPeer);
}

template <class Traits>
void Server<Traits>::begin_teardown() {
    state_ = State::tearing_down;
    // New peers wait in the listen backlog until this one's session is gone.
    unwatch_listener();
    session_->disconnect([self = std::weak_ptr<Server*>(self_)] {
        // Runs inside the session (maybe inside the connection's callback): destroy them from
        // a fresh stack.
        if (auto alive = self.lock()) {
            Server* server = *alive;
            server->reactor_.post([self] {
                if (auto still = self.lock()) {
                    (*still)->finish_teardown();
                }
            });
        }
    });
}

template <class Traits>
void Server<Traits>::finish_teardown() {
    connection_.reset();
    session_.reset();
    LOG_RATELIMITED_AS(Traits::kLog, info, "{}: {} session ended; {}", options_.name, Traits::kPeer,
                       Traits::kSessionEnded);
    if (!shutdown_done_.empty() || !listener_.valid()) {
        state_ = State::shut_down;
        auto callbacks = std::move(shutdown_done_);
        shutdown_done_.clear();
        for (auto& done : callbacks) {
            done();
        }
        return;
    }
    state_ = State::idle;
    if (auto watched = watch_listener(); !watched) {
        ::vhostd::log::write(Traits::kLog, ::vhostd::log::Level::err,
                             "{}: cannot accept connections any more: {}", options_.name,
                             watched.error().describe());
    }
}

template <class Traits>
void Server<Traits>::shutdown(std::move_only_function<void()> done) {
    close_listener();
    switch (state_) {
        case State::idle:
        case State::shut_down:
            state_ = State::shut_down;
            done();
            return;
        case State::tearing_down:
            shutdown_done_.push_back(std::move(done));
            return;
        case State::connected:
            shutdown_done_.push_back(std::move(done));
            connection_->close();
            begin_teardown();
            return;
    }
}

}  // namespace vhostd::uds

// Server: listening socket, one client at a time, teardown between clients.
#include "vfio_user/server.hpp"

#include <cstring>

#include <sys/epoll.h>
#include <sys/socket.h>

#include "base/log.hpp"

namespace vhostd::vfio_user {

Result<std::unique_ptr<Server>> Server::create(reactor::Reactor& reactor, std::string socket_path,
                                               pci::Function& function, Options options) {
    if (options.name.empty()) {
        options.name = socket_path;
    }
    std::unique_ptr<Server> server(
        new Server(reactor, std::move(socket_path), function, std::move(options)));
    VHOSTD_TRY(server->listen());
    VHOSTD_TRY(server->watch_listener());
    LOG_INFO(vfio_user, "{}: listening for a vfio-user client", server->options_.name);
    return server;
}

Server::Server(reactor::Reactor& reactor, std::string path, pci::Function& function,
               Options options)
    : reactor_(reactor),
      path_(std::move(path)),
      function_(function),
      options_(std::move(options)),
      self_(std::make_shared<Server*>(this)) {}

Server::~Server() {
    if (connection_) {
        connection_->close();
    }
    connection_.reset();
    session_.reset();
    close_listener();
}

Result<void> Server::listen() {
    listener_ = VHOSTD_TRY(UnixListener::listen(path_, options_.socket));
    return {};
}

Result<void> Server::watch_listener() {
    if (listen_watch_ || !listener_.valid()) {
        return {};
    }
    listen_watch_ = VHOSTD_TRY(
        reactor_.watch_fd(listener_.fd(), EPOLLIN, [this](uint32_t) { accept_pending(); }));
    return {};
}

void Server::unwatch_listener() {
    if (listen_watch_) {
        reactor_.unwatch_fd(*listen_watch_);
        listen_watch_.reset();
    }
}

void Server::close_listener() {
    unwatch_listener();
    listener_.close();  // removes the socket file if it is still ours
}

void Server::accept_pending() {
    // A client that reconnects can knock before we have read its old connection's EOF (both
    // events in one epoll batch). Tear the old session down first: the newcomer waits in the
    // backlog and is served once the device has been reset, instead of being turned away.
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
                LOG_RATELIMITED(vfio_user, err, "{}: accept failed: {}", options_.name,
                                std::strerror(errno));
            }
            return;
        }
        if (state_ != State::idle) {
            // Spec "Socket": a dedicated socket per client/server connection; a second client
            // would fight the first over the same device.
            LOG_RATELIMITED(vfio_user, warn,
                            "{}: refusing a second client connection while one is served",
                            options_.name);
            continue;  // `socket` closes here
        }
        serve(std::move(socket));
    }
}

void Server::serve(UniqueFd socket) {
    ++connections_;
    std::string name = fmt::format("{}#{}", options_.name, connections_);
    session_ = std::make_unique<Session>(function_, Session::Options{name});
    auto connection = Connection::create(reactor_, std::move(socket), *session_, name,
                                         [this] { begin_teardown(); },
                                         {.handshake_timeout = options_.handshake_timeout});
    if (!connection) {
        LOG_RATELIMITED(vfio_user, err, "{}: cannot serve the connection: {}", name,
                        connection.error().describe());
        session_.reset();
        return;
    }
    connection_ = std::move(*connection);
    state_ = State::connected;
    LOG_RATELIMITED(vfio_user, info, "{}: client connected", name);
}

void Server::begin_teardown() {
    state_ = State::tearing_down;
    // New clients wait in the listen backlog until this one's device state is gone.
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

void Server::finish_teardown() {
    connection_.reset();
    session_.reset();
    LOG_RATELIMITED(vfio_user, info, "{}: client session ended; device reset, memory released",
                    options_.name);
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
        LOG_ERROR(vfio_user, "{}: cannot accept connections any more: {}", options_.name,
                  watched.error().describe());
    }
}

void Server::shutdown(std::move_only_function<void()> done) {
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

}  // namespace vhostd::vfio_user

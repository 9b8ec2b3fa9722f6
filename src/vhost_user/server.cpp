// Server: listening socket, one connection at a time, teardown between frontends.
#include "vhost_user/server.hpp"

#include <cstring>

#include <sys/epoll.h>
#include <sys/socket.h>

#include "base/log.hpp"

namespace vhostd::vhost_user {

Result<std::unique_ptr<Server>> Server::create(reactor::Reactor& reactor, std::string socket_path,
                                               virtio::Device& device, virtio::QueueControl& queues,
                                               Options options) {
    if (options.name.empty()) {
        options.name = socket_path;
    }
    std::unique_ptr<Server> server(
        new Server(reactor, std::move(socket_path), device, queues, std::move(options)));
    VHOSTD_TRY(server->listen());
    VHOSTD_TRY(server->watch_listener());
    LOG_INFO(vhost_user, "{}: listening for a vhost-user frontend", server->options_.name);
    return server;
}

Server::Server(reactor::Reactor& reactor, std::string path, virtio::Device& device,
               virtio::QueueControl& queues, Options options)
    : reactor_(reactor),
      path_(std::move(path)),
      device_(device),
      queues_(queues),
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
    // A frontend that reconnects can knock before we have read its old connection's EOF (both
    // events in one epoll batch). Tear the old session down first: the newcomer waits in the
    // backlog and is served once the old queues have stopped, instead of being turned away.
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
                LOG_RATELIMITED(vhost_user, err, "{}: accept failed: {}", options_.name,
                                std::strerror(errno));
            }
            return;
        }
        if (state_ != State::idle) {
            // One frontend per controller: a second one would fight over the same queues.
            LOG_RATELIMITED(vhost_user, warn,
                            "{}: refusing a second frontend connection while one is served",
                            options_.name);
            continue;  // `socket` closes here
        }
        serve(std::move(socket));
    }
}

void Server::serve(UniqueFd socket) {
    ++connections_;
    std::string name = fmt::format("{}#{}", options_.name, connections_);
    session_ = std::make_unique<Session>(device_, queues_, Session::Options{name});
    auto connection = Connection::create(reactor_, std::move(socket), *session_, name,
                                         [this] { on_connection_closed(); },
                                         {.handshake_timeout = options_.handshake_timeout});
    if (!connection) {
        LOG_RATELIMITED(vhost_user, err, "{}: cannot serve the connection: {}", name,
                        connection.error().describe());
        session_.reset();
        return;
    }
    connection_ = std::move(*connection);
    state_ = State::connected;
    LOG_RATELIMITED(vhost_user, info, "{}: frontend connected", name);
}

void Server::on_connection_closed() {
    begin_teardown();
}

void Server::begin_teardown() {
    state_ = State::tearing_down;
    // New frontends wait in the listen backlog until this one's queues have stopped.
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
    LOG_RATELIMITED(vhost_user, info, "{}: frontend session ended; queues stopped, memory released",
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
        LOG_ERROR(vhost_user, "{}: cannot accept connections any more: {}", options_.name,
                  watched.error().describe());
    }
}

void Server::queue_broken(uint16_t index) {
    if (session_) {
        session_->queue_broken(index);
    }
}

Result<void> Server::notify_config_changed() {
    if (!session_ || state_ != State::connected) {
        return make_error(ENOTCONN, "no frontend connected");
    }
    return session_->notify_config_changed();
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

}  // namespace vhostd::vhost_user

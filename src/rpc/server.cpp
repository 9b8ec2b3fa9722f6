// Server: listening socket, accept with a connection cap, connection bookkeeping.
#include "rpc/server.hpp"

#include <cstring>

#include <sys/epoll.h>
#include <sys/socket.h>

#include "base/log.hpp"

namespace vhostd::rpc {

Result<std::unique_ptr<Server>> Server::create(reactor::Reactor& control,
                                               const MethodTable& methods, Options options) {
    std::unique_ptr<Server> server(new Server(control, methods, std::move(options)));
    VHOSTD_TRY(server->listen());
    server->watch_ = VHOSTD_TRY(control.watch_fd(
        server->listener_.fd(), EPOLLIN, [s = server.get()](uint32_t) { s->accept_pending(); }));
    LOG_INFO(rpc, "JSON-RPC server listening on {}", server->options_.path);
    return server;
}

Server::Server(reactor::Reactor& control, const MethodTable& methods, Options options)
    : control_(control), methods_(methods), options_(std::move(options)) {}

Server::~Server() {
    if (watch_) {
        control_.unwatch_fd(*watch_);
    }
    // close() calls back into connections_; work on a copy.
    auto connections = std::move(connections_);
    connections_.clear();
    for (auto& [raw, connection] : connections) {
        connection->close();
    }
    listener_.close();  // removes the socket file if it is still ours
}

Result<void> Server::listen() {
    auto listener = UnixListener::listen(options_.path, options_.socket, 128);
    if (!listener) {
        return make_error(listener.error().code, "RPC socket: {}{}", listener.error().message,
                          listener.error().code == EADDRINUSE ? " (pass -r PATH)" : "");
    }
    listener_ = std::move(*listener);
    return {};
}

void Server::accept_pending() {
    // Bounded per wake-up; level-triggered epoll brings us back for the rest.
    for (int i = 0; i < 32; ++i) {
        UniqueFd client(::accept4(listener_.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!client) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
                LOG_RATELIMITED(rpc, err, "RPC accept: {}", std::strerror(errno));
            }
            return;
        }
        if (connections_.size() >= options_.max_connections) {
            refuse(std::move(client));
            continue;
        }
        auto connection = std::make_shared<Connection>(
            control_, std::move(client), methods_,
            [this](Connection& closed) { connections_.erase(&closed); });
        Connection* raw = connection.get();
        connections_.emplace(raw, std::move(connection));
        if (auto started = raw->start(); !started) {
            connections_.erase(raw);
        }
    }
}

// Beyond the cap a client is told why (one error response, id null) instead of being left
// waiting; the write is best effort and never blocks.
void Server::refuse(UniqueFd client) {
    LOG_RATELIMITED(rpc, warn, "RPC: refusing a client, {} connections already open",
                    connections_.size());
    const std::string response = encode_response(
        nullptr,
        std::unexpected(RpcError{code::kInternalError,
                                 fmt::format("Too many RPC connections (limit {}); try again later",
                                             options_.max_connections)}));
    (void)::send(client.get(), response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

}  // namespace vhostd::rpc

// Server: listening socket, accept with a connection cap, connection bookkeeping.
#include "rpc/server.hpp"

#include <cstring>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.hpp"

namespace vhostd::rpc {
namespace {

Result<sockaddr_un> unix_address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
        return make_error(ENAMETOOLONG, "RPC socket path '{}' must be 1 to {} bytes", path,
                          sizeof(addr.sun_path) - 1);
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

// True if some process accepts connections on `addr` (then its socket is not stale).
bool someone_listens(const sockaddr_un& addr) {
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    return probe &&
           ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
}

}  // namespace

Result<std::unique_ptr<Server>> Server::create(reactor::Reactor& control,
                                               const MethodTable& methods, Options options) {
    std::unique_ptr<Server> server(new Server(control, methods, std::move(options)));
    VHOSTD_TRY(server->listen());
    server->watch_ = VHOSTD_TRY(control.watch_fd(
        server->listener_.get(), EPOLLIN, [s = server.get()](uint32_t) { s->accept_pending(); }));
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
    if (listener_) {
        ::unlink(options_.path.c_str());
    }
}

Result<void> Server::listen() {
    const sockaddr_un addr = VHOSTD_TRY(unix_address(options_.path));
    struct stat st {};
    if (::lstat(options_.path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            return make_error(EEXIST, "RPC socket path '{}' exists and is not a socket",
                              options_.path);
        }
        if (someone_listens(addr)) {
            return make_error(EADDRINUSE,
                              "RPC socket '{}' is in use by another process (pass -r PATH)",
                              options_.path);
        }
        ::unlink(options_.path.c_str());  // left over by a process that died
    }
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
        return errno_error("socket(AF_UNIX)");
    }
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
        return errno_error(fmt::format("RPC socket: bind to '{}'", options_.path));
    }
    if (::listen(fd.get(), 128) != 0) {
        auto error = errno_error(fmt::format("RPC socket: listen on '{}'", options_.path));
        ::unlink(options_.path.c_str());
        return error;
    }
    listener_ = std::move(fd);
    return {};
}

void Server::accept_pending() {
    // Bounded per wake-up; level-triggered epoll brings us back for the rest.
    for (int i = 0; i < 32; ++i) {
        UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
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

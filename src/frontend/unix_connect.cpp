// connect_unix: socket, connect, and retries while the server is not there yet.
#include "frontend/unix_connect.hpp"

#include <cstring>
#include <thread>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

namespace vhostd::frontend {

namespace {

Result<UniqueFd> try_connect(const std::string& path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) {
        return errno_error("socket(AF_UNIX)");
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
        return fd;
    }
    if (errno != EINPROGRESS) {
        return errno_error(fmt::format("connect({})", path));
    }
    // Non-blocking connects on unix sockets complete at once in practice; handle the general
    // case anyway.
    pollfd pfd{fd.get(), POLLOUT, 0};
    if (::poll(&pfd, 1, 1000) != 1) {
        return make_error(ETIMEDOUT, "connect({}) did not complete", path);
    }
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        return make_error(err, "connect({})", path);
    }
    return fd;
}

}  // namespace

Result<UniqueFd> connect_unix(const std::string& path, std::chrono::milliseconds retry_for) {
    if (path.empty() || path.size() >= sizeof(sockaddr_un{}.sun_path)) {
        return make_error(ENAMETOOLONG, "socket path '{}' does not fit sun_path", path);
    }
    const auto deadline = std::chrono::steady_clock::now() + retry_for;
    for (;;) {
        auto fd = try_connect(path);
        if (fd) {
            return fd;
        }
        const int err = fd.error().code;
        const bool transient = err == ENOENT || err == ECONNREFUSED || err == EAGAIN;
        if (!transient || std::chrono::steady_clock::now() >= deadline) {
            return std::unexpected(std::move(fd).error());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace vhostd::frontend

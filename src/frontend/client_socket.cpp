// ClientSocket: blocking-style message I/O over a non-blocking unix stream socket, each
// operation bounded by poll() against a deadline.
#include "frontend/client_socket.hpp"

#include <algorithm>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>

#include "uds/fd_transfer.hpp"

namespace vhostd::frontend {

Result<void> ClientSocket::wait_ready(short events, Clock::time_point deadline) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd pfd{socket_.get(), events, 0};
        const int n = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
        if (n > 0) {
            return {};  // ready, or an error/hang-up the next syscall reports
        }
        if (n == 0) {
            return make_error(ETIMEDOUT, "{} socket not ready within {} ms", names_.protocol,
                              timeout_.count());
        }
        if (errno != EINTR) {
            return errno_error(fmt::format("poll({} socket)", names_.protocol));
        }
    }
}

Result<void> ClientSocket::send_all(std::span<const std::byte> head,
                                    std::span<const std::byte> body, std::span<const int> fds,
                                    size_t max_fds) {
    if (!socket_) {
        return make_error(ENOTCONN, "{} connection is closed", names_.protocol);
    }
    max_fds = std::min(max_fds, kMaxFds);
    if (fds.size() > max_fds) {
        return make_error(EINVAL, "{} fds in one message, at most {}", fds.size(), max_fds);
    }
    const auto deadline = Clock::now() + timeout_;
    iovec iov[2] = {{const_cast<std::byte*>(head.data()), head.size()},
                    {const_cast<std::byte*>(body.data()), body.size()}};
    size_t first = 0;
    bool fds_sent = fds.empty();
    while (first < 2) {
        if (iov[first].iov_len == 0) {
            ++first;
            continue;
        }
        // Ancillary data rides with the first byte of the message.
        const ssize_t n = uds::send_with_fds(socket_.get(), std::span(iov + first, 2 - first),
                                             fds_sent ? std::span<const int>() : fds);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                VHOSTD_TRY(wait_ready(POLLOUT, deadline));
                continue;
            }
            return errno_error(fmt::format("sendmsg({})", names_.protocol));
        }
        fds_sent = true;
        size_t sent = static_cast<size_t>(n);
        while (first < 2 && sent >= iov[first].iov_len) {
            sent -= iov[first].iov_len;
            ++first;
        }
        if (first < 2) {
            iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + sent;
            iov[first].iov_len -= sent;
        }
    }
    return {};
}

Result<void> ClientSocket::receive_exact(std::byte* dst, size_t len, std::vector<UniqueFd>* fds,
                                         size_t max_fds, Clock::time_point deadline) {
    size_t got = 0;
    while (got < len) {
        auto received = uds::receive_with_fds(socket_.get(), std::span(dst + got, len - got), *fds,
                                              max_fds, names_.protocol);
        if (!received) {
            if (received.error().code == EAGAIN) {
                VHOSTD_TRY(wait_ready(POLLIN, deadline));
                continue;
            }
            return std::unexpected(std::move(received).error());
        }
        // The fds are ours already (closed on every path); more than `max_fds` were closed.
        if (received->fds_truncated) {
            return make_error(EPROTO, "{} sent more than {} fds", names_.peer, max_fds);
        }
        if (received->bytes == 0) {
            return make_error(ECONNRESET, "{} closed the connection", names_.peer);
        }
        got += received->bytes;
    }
    return {};
}

bool ClientSocket::nothing_pending() const {
    if (!socket_) {
        return true;
    }
    pollfd pfd{socket_.get(), POLLIN, 0};
    return ::poll(&pfd, 1, 0) == 0;
}

Result<void> ClientSocket::wait_closed(std::chrono::milliseconds timeout) {
    if (!socket_) {
        return {};
    }
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        std::byte b;
        const ssize_t n = ::recv(socket_.get(), &b, 1, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            close();
            return {};
        }
        if (n > 0) {
            return make_error(EPROTO, "{} sent data instead of closing", names_.peer);
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN) {
            return errno_error(fmt::format("recv({})", names_.protocol));
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd pfd{socket_.get(), POLLIN, 0};
        const int r = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
        if (r == 0) {
            return make_error(ETIMEDOUT, "{} kept the connection open", names_.peer);
        }
        if (r < 0 && errno != EINTR) {
            return errno_error(fmt::format("poll({} socket)", names_.protocol));
        }
    }
}

}  // namespace vhostd::frontend

// ClientSocket: blocking-style message I/O over a non-blocking unix stream socket, each
// operation bounded by poll() against a deadline.
#include "frontend/client_socket.hpp"

#include <algorithm>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>

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
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)] = {};
    bool fds_sent = fds.empty();
    while (first < 2) {
        if (iov[first].iov_len == 0) {
            ++first;
            continue;
        }
        msghdr msg{};
        msg.msg_iov = iov + first;
        msg.msg_iovlen = 2 - first;
        if (!fds_sent) {
            // Ancillary data rides with the first byte of the message.
            msg.msg_control = control;
            msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
            cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
            cmsg->cmsg_level = SOL_SOCKET;
            cmsg->cmsg_type = SCM_RIGHTS;
            cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
            std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
        }
        const ssize_t n = ::sendmsg(socket_.get(), &msg, MSG_NOSIGNAL);
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
    max_fds = std::min(max_fds, kMaxFds);
    size_t got = 0;
    while (got < len) {
        iovec iov{dst + got, len - got};
        // Room for exactly `max_fds`: more make the kernel set MSG_CTRUNC and close them.
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * max_fds);
        const ssize_t n = ::recvmsg(socket_.get(), &msg, MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                VHOSTD_TRY(wait_ready(POLLIN, deadline));
                continue;
            }
            return errno_error(fmt::format("recvmsg({})", names_.protocol));
        }
        // Take ownership of any fds first so they are closed on every path below.
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
                continue;
            }
            const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; ++i) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                fds->emplace_back(fd);
            }
        }
        if ((msg.msg_flags & MSG_CTRUNC) != 0 || fds->size() > max_fds) {
            return make_error(EPROTO, "{} sent more than {} fds", names_.peer, max_fds);
        }
        if (n == 0) {
            return make_error(ECONNRESET, "{} closed the connection", names_.peer);
        }
        got += static_cast<size_t>(n);
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

// Connection: vhost-user message I/O over a non-blocking unix stream socket, each operation
// bounded by poll() against a deadline.
#include "frontend/connection.hpp"

#include <algorithm>

#include <poll.h>
#include <sys/socket.h>

#include "frontend/unix_connect.hpp"

namespace vhostd::frontend {

namespace vu = vhost_user;

namespace {

uint32_t code(vu::Request request) {
    return static_cast<uint32_t>(request);
}

}  // namespace

Result<Connection> Connection::connect(const std::string& path, const Options& options) {
    return Connection(VHOSTD_TRY(connect_unix(path, options.connect_timeout)), options);
}

Connection Connection::adopt(UniqueFd socket, const Options& options) {
    return Connection(std::move(socket), options);
}

Result<void> Connection::wait_ready(short events, Clock::time_point deadline) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd pfd{socket_.get(), events, 0};
        const int n = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
        if (n > 0) {
            return {};  // ready, or an error/hang-up the next syscall reports
        }
        if (n == 0) {
            return make_error(ETIMEDOUT, "vhost-user socket not ready within {} ms",
                              options_.timeout.count());
        }
        if (errno != EINTR) {
            return errno_error("poll(vhost-user socket)");
        }
    }
}

Result<void> Connection::send_all(std::span<const std::byte> head, std::span<const std::byte> body,
                                  std::span<const int> fds) {
    if (!socket_) {
        return make_error(ENOTCONN, "vhost-user connection is closed");
    }
    if (fds.size() > vu::kMaxFdsPerMessage) {
        return make_error(EINVAL, "{} fds in one message, at most {}", fds.size(),
                          vu::kMaxFdsPerMessage);
    }
    const auto deadline = Clock::now() + options_.timeout;
    iovec iov[2] = {{const_cast<std::byte*>(head.data()), head.size()},
                    {const_cast<std::byte*>(body.data()), body.size()}};
    size_t first = 0;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * vu::kMaxFdsPerMessage)] = {};
    bool fds_sent = fds.empty();
    while (first < 2) {
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
            return errno_error("sendmsg(vhost-user)");
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

Result<void> Connection::receive_exact(std::byte* dst, size_t len, std::vector<UniqueFd>* fds,
                                       Clock::time_point deadline) {
    size_t got = 0;
    while (got < len) {
        iovec iov{dst + got, len - got};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * vu::kMaxFdsPerMessage)];
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        const ssize_t n = ::recvmsg(socket_.get(), &msg, MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                VHOSTD_TRY(wait_ready(POLLIN, deadline));
                continue;
            }
            return errno_error("recvmsg(vhost-user)");
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
        if ((msg.msg_flags & MSG_CTRUNC) != 0) {
            return make_error(EPROTO, "vhost-user back-end sent more than {} fds",
                              vu::kMaxFdsPerMessage);
        }
        if (n == 0) {
            return make_error(ECONNRESET, "vhost-user back-end closed the connection");
        }
        got += static_cast<size_t>(n);
    }
    return {};
}

Result<void> Connection::send(vu::Request request, uint32_t flags,
                              std::span<const std::byte> payload, std::span<const int> fds) {
    const vu::MessageHeader header{code(request), flags, static_cast<uint32_t>(payload.size())};
    return send_all(std::as_bytes(std::span(&header, 1)), payload, fds);
}

Result<void> Connection::send_bytes(std::span<const std::byte> bytes, std::span<const int> fds) {
    return send_all(bytes, {}, fds);
}

Result<Message> Connection::receive() {
    if (!socket_) {
        return make_error(ENOTCONN, "vhost-user connection is closed");
    }
    const auto deadline = Clock::now() + options_.timeout;
    Message msg;
    VHOSTD_TRY(receive_exact(reinterpret_cast<std::byte*>(&msg.header), sizeof(msg.header),
                             &msg.fds, deadline));
    if (msg.header.size > Message::kMaxPayload) {
        // The stream cannot be resynchronised after an oversized payload.
        close();
        return make_error(EPROTO, "vhost-user message {} has a {}-byte payload", msg.header.request,
                          msg.header.size);
    }
    VHOSTD_TRY(receive_exact(msg.payload.data(), msg.header.size, &msg.fds, deadline));
    return msg;
}

Result<Message> Connection::receive_reply(vu::Request request) {
    Message msg = VHOSTD_TRY(receive());
    const vu::MessageHeader& h = msg.header;
    if (h.request != code(request)) {
        return make_error(EPROTO, "expected a reply to request {}, got message {}", code(request),
                          h.request);
    }
    if ((h.flags & vu::kVersionMask) != vu::kVersion || (h.flags & vu::kFlagReply) == 0) {
        return make_error(EPROTO, "reply to request {} has flags {:#x}", code(request), h.flags);
    }
    return msg;
}

Result<void> Connection::request(vu::Request request, std::span<const std::byte> payload,
                                 std::span<const int> fds) {
    const uint32_t flags = vu::kVersion | (reply_ack_ ? vu::kFlagNeedReply : 0);
    VHOSTD_TRY(send(request, flags, payload, fds));
    if (!reply_ack_) {
        return {};
    }
    const Message reply = VHOSTD_TRY(receive_reply(request));
    const uint64_t ack = VHOSTD_TRY(reply.as<uint64_t>());
    if (ack != 0) {
        return make_error(EIO, "vhost-user back-end failed request {} (ack {})", code(request),
                          ack);
    }
    return {};
}

Result<Message> Connection::call(vu::Request request, std::span<const std::byte> payload,
                                 std::span<const int> fds) {
    VHOSTD_TRY(send(request, vu::kVersion, payload, fds));
    return receive_reply(request);
}

Result<uint64_t> Connection::call_u64(vu::Request request) {
    const Message reply = VHOSTD_TRY(call(request));
    return reply.as<uint64_t>();
}

Result<void> Connection::wait_closed(std::chrono::milliseconds timeout) {
    if (!socket_) {
        return {};
    }
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        std::byte b;
        const ssize_t n = ::recv(socket_.get(), &b, 1, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            close();
            return {};
        }
        if (n > 0) {
            return make_error(EPROTO, "vhost-user back-end sent data instead of closing");
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN) {
            return errno_error("recv(vhost-user)");
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd pfd{socket_.get(), POLLIN, 0};
        const int r = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
        if (r == 0) {
            return make_error(ETIMEDOUT, "vhost-user back-end kept the connection open");
        }
        if (r < 0 && errno != EINTR) {
            return errno_error("poll(vhost-user socket)");
        }
    }
}

}  // namespace vhostd::frontend

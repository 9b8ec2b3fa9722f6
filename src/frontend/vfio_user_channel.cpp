// VfioUserChannel: vfio-user message I/O over a non-blocking unix stream socket, each
// operation bounded by poll() against a deadline.
#include "frontend/vfio_user_channel.hpp"

#include <algorithm>

#include <poll.h>
#include <sys/socket.h>

#include "frontend/unix_connect.hpp"

namespace vhostd::frontend {

namespace vu = vfio_user;

Result<VfioUserChannel> VfioUserChannel::connect(const std::string& path, const Options& options) {
    return VfioUserChannel(VHOSTD_TRY(connect_unix(path, options.connect_timeout)), options);
}

VfioUserChannel VfioUserChannel::adopt(UniqueFd socket, const Options& options) {
    return VfioUserChannel(std::move(socket), options);
}

Result<void> VfioUserChannel::wait_ready(short events, Clock::time_point deadline) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd pfd{socket_.get(), events, 0};
        const int n = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
        if (n > 0) {
            return {};  // ready, or an error/hang-up the next syscall reports
        }
        if (n == 0) {
            return make_error(ETIMEDOUT, "vfio-user socket not ready within {} ms",
                              options_.timeout.count());
        }
        if (errno != EINTR) {
            return errno_error("poll(vfio-user socket)");
        }
    }
}

Result<void> VfioUserChannel::send_all(std::span<const std::byte> head,
                                       std::span<const std::byte> body, std::span<const int> fds) {
    if (!socket_) {
        return make_error(ENOTCONN, "vfio-user connection is closed");
    }
    // Room for what a test may want to overload a server with.
    constexpr size_t kMaxSendFds = 64;
    if (fds.size() > kMaxSendFds) {
        return make_error(EINVAL, "{} fds in one message, at most {}", fds.size(), kMaxSendFds);
    }
    const auto deadline = Clock::now() + options_.timeout;
    iovec iov[2] = {{const_cast<std::byte*>(head.data()), head.size()},
                    {const_cast<std::byte*>(body.data()), body.size()}};
    size_t first = 0;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxSendFds)] = {};
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
            return errno_error("sendmsg(vfio-user)");
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

Result<void> VfioUserChannel::receive_exact(std::byte* dst, size_t len, std::vector<UniqueFd>* fds,
                                            Clock::time_point deadline) {
    constexpr size_t kMaxReceiveFds = 64;
    size_t got = 0;
    while (got < len) {
        iovec iov{dst + got, len - got};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxReceiveFds)];
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
            return errno_error("recvmsg(vfio-user)");
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
        if ((msg.msg_flags & MSG_CTRUNC) != 0 || fds->size() > options_.max_fds) {
            close();
            return make_error(EPROTO, "vfio-user server sent more than {} fds", options_.max_fds);
        }
        if (n == 0) {
            close();
            return make_error(ECONNRESET, "vfio-user server closed the connection");
        }
        got += static_cast<size_t>(n);
    }
    return {};
}

Result<uint16_t> VfioUserChannel::send(vu::Command command, std::span<const std::byte> payload,
                                       std::span<const int> fds, uint32_t flags) {
    const uint16_t id = next_id_++;
    const vu::Header header{id, static_cast<uint16_t>(command),
                            static_cast<uint32_t>(sizeof(vu::Header) + payload.size()),
                            vu::kTypeCommand | (flags & ~vu::kTypeMask), 0};
    VHOSTD_TRY(send_all(std::as_bytes(std::span(&header, 1)), payload, fds));
    return id;
}

Result<void> VfioUserChannel::send_header(const vu::Header& header,
                                          std::span<const std::byte> payload,
                                          std::span<const int> fds) {
    return send_all(std::as_bytes(std::span(&header, 1)), payload, fds);
}

Result<void> VfioUserChannel::send_bytes(std::span<const std::byte> bytes,
                                         std::span<const int> fds) {
    return send_all(bytes, {}, fds);
}

Result<VfioUserMessage> VfioUserChannel::receive() {
    if (!socket_) {
        return make_error(ENOTCONN, "vfio-user connection is closed");
    }
    const auto deadline = Clock::now() + options_.timeout;
    VfioUserMessage msg;
    VHOSTD_TRY(receive_exact(reinterpret_cast<std::byte*>(&msg.header), sizeof(msg.header),
                             &msg.fds, deadline));
    if (msg.header.msg_size < sizeof(vu::Header) ||
        msg.header.msg_size > options_.max_message_size) {
        // The stream cannot be resynchronised after a size we cannot trust.
        close();
        return make_error(EPROTO, "vfio-user message {} announces {} bytes (at most {})",
                          msg.header.command, msg.header.msg_size, options_.max_message_size);
    }
    msg.payload.resize(msg.header.msg_size - sizeof(vu::Header));
    VHOSTD_TRY(receive_exact(msg.payload.data(), msg.payload.size(), &msg.fds, deadline));
    return msg;
}

Result<VfioUserMessage> VfioUserChannel::receive_reply(vu::Command command, uint16_t msg_id) {
    VfioUserMessage msg = VHOSTD_TRY(receive());
    const vu::Header& h = msg.header;
    // Spec "Header": a reply echoes the command's msg_id and command, with type Reply.
    if ((h.flags & vu::kTypeMask) != vu::kTypeReply || h.msg_id != msg_id ||
        h.command != static_cast<uint16_t>(command)) {
        return make_error(EPROTO,
                          "expected the reply to {} (msg_id {}), got command {} msg_id {} flags "
                          "{:#x}",
                          vu::to_string(command), msg_id, h.command, h.msg_id, h.flags);
    }
    if ((h.flags & ~(vu::kTypeMask | vu::kFlagError)) != 0) {
        return make_error(EPROTO, "reply to {} has flags {:#x}", vu::to_string(command), h.flags);
    }
    if (msg.is_error()) {
        // Spec "Header": an error reply "must only include the reply header".
        if (!msg.payload.empty() || !msg.fds.empty()) {
            return make_error(EPROTO, "error reply to {} carries a payload or fds",
                              vu::to_string(command));
        }
        // The errno "may be zero even if the Error bit is set".
        const int code = h.error_no != 0 ? static_cast<int>(h.error_no) : EIO;
        return make_error(code, "vfio-user server failed {}", vu::to_string(command));
    }
    return msg;
}

Result<VfioUserMessage> VfioUserChannel::call(vu::Command command,
                                              std::span<const std::byte> payload,
                                              std::span<const int> fds) {
    const uint16_t id = VHOSTD_TRY(send(command, payload, fds));
    return receive_reply(command, id);
}

bool VfioUserChannel::nothing_pending() const {
    if (!socket_) {
        return true;
    }
    pollfd pfd{socket_.get(), POLLIN, 0};
    return ::poll(&pfd, 1, 0) == 0;
}

Result<void> VfioUserChannel::wait_closed(std::chrono::milliseconds timeout) {
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
            return make_error(EPROTO, "vfio-user server sent data instead of closing");
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN) {
            return errno_error("recv(vfio-user)");
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd pfd{socket_.get(), POLLIN, 0};
        const int r = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
        if (r == 0) {
            return make_error(ETIMEDOUT, "vfio-user server kept the connection open");
        }
        if (r < 0 && errno != EINTR) {
            return errno_error("poll(vfio-user socket)");
        }
    }
}

}  // namespace vhostd::frontend

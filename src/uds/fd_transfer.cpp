// Fd transfer: recvmsg/sendmsg with SCM_RIGHTS and the fd bounds.
#include "uds/fd_transfer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <sys/socket.h>

namespace vhostd::uds {

Result<Received> receive_with_fds(int socket, std::span<std::byte> dst, std::vector<UniqueFd>& fds,
                                  size_t max_fds, std::string_view what) {
    max_fds = std::min(max_fds, kMaxFdsLimit);
    // Room for exactly the fds one message may carry; more makes the kernel set MSG_CTRUNC (and
    // close the excess itself).
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsLimit)];
    iovec iov{dst.data(), dst.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * max_fds);
    ssize_t n;
    do {
        n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errno_error(fmt::format("recvmsg on {}", what));
    }
    Received received{static_cast<size_t>(n), (msg.msg_flags & MSG_CTRUNC) != 0};
    // Own every descriptor before looking at anything else, so no path leaks one. Past the limit
    // (the message came in pieces, each with fds) they are closed at once.
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int raw;
            std::memcpy(&raw, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            UniqueFd owned(raw);
            if (fds.size() < max_fds) {
                fds.push_back(std::move(owned));
            } else {
                received.fds_truncated = true;
            }
        }
    }
    return received;
}

ssize_t send_with_fds(int socket, std::span<const iovec> iov, std::span<const int> fds, int flags) {
    msghdr msg{};
    msg.msg_iov = const_cast<iovec*>(iov.data());
    msg.msg_iovlen = iov.size();
    alignas(cmsghdr) std::byte control[CMSG_SPACE(sizeof(int) * kMaxFdsLimit)]{};
    if (!fds.empty()) {
        const size_t count = std::min(fds.size(), kMaxFdsLimit);
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
        cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * count);
        std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * count);
    }
    return ::sendmsg(socket, &msg, MSG_NOSIGNAL | flags);
}

ssize_t send_with_fds(int socket, std::span<const std::byte> data, std::span<const int> fds,
                      int flags) {
    const iovec iov{const_cast<std::byte*>(data.data()), data.size()};
    return send_with_fds(socket, std::span(&iov, 1), fds, flags);
}

ssize_t send_with_fds(int socket, std::span<const std::byte> data, std::span<const UniqueFd> fds,
                      int flags) {
    int raw[kMaxFdsLimit];
    const size_t count = std::min(fds.size(), kMaxFdsLimit);
    for (size_t i = 0; i < count; ++i) {
        raw[i] = fds[i].get();
    }
    return send_with_fds(socket, data, std::span<const int>(raw, count), flags);
}

}  // namespace vhostd::uds

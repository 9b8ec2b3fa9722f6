// Fd transfer: one recvmsg or sendmsg on a unix stream socket with SCM_RIGHTS file descriptors,
// bounded on both sides. Every received fd is owned the moment recvmsg returns, so no error path
// leaks one; fds past the caller's limit are closed at once.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include <sys/types.h>
#include <sys/uio.h>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace vhostd::uds {

// The most fds one message may carry in any protocol we speak (vfio-user advertises 16); the
// control buffers are sized for it.
constexpr size_t kMaxFdsLimit = 64;

struct Received {
    size_t bytes = 0;  // 0: the peer closed the connection
    // More fds arrived than the limit (the kernel cut them, MSG_CTRUNC, or the message came in
    // pieces that together carry too many): the surplus is closed.
    bool fds_truncated = false;
};

// One non-blocking recvmsg of at most `dst.size()` bytes. Received fds are appended to `fds`
// while it holds fewer than `max_fds` (at most kMaxFdsLimit); room for more than `max_fds` in
// one call is never offered, so the kernel closes the excess itself. `what` names the socket in
// errors ("vhost-user socket"). EAGAIN comes back as an error value with that code.
[[nodiscard]] Result<Received> receive_with_fds(int socket, std::span<std::byte> dst,
                                                std::vector<UniqueFd>& fds, size_t max_fds,
                                                std::string_view what);

// One sendmsg of the `iov` pieces with `fds` (at most kMaxFdsLimit) as SCM_RIGHTS riding on
// the first byte. MSG_NOSIGNAL: a peer that went away is an error (-1, errno EPIPE), never
// SIGPIPE. `flags` adds MSG_DONTWAIT for sockets that may be blocking. Returns what sendmsg
// returns.
ssize_t send_with_fds(int socket, std::span<const iovec> iov, std::span<const int> fds,
                      int flags = 0);
ssize_t send_with_fds(int socket, std::span<const std::byte> data, std::span<const int> fds,
                      int flags = 0);
// The same with fds we own (a reply's duplicates).
ssize_t send_with_fds(int socket, std::span<const std::byte> data, std::span<const UniqueFd> fds,
                      int flags = 0);

}  // namespace vhostd::uds

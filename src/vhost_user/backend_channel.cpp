// BackendChannel: one header-only request per call, sent without blocking.
#include "vhost_user/backend_channel.hpp"

#include <fmt/format.h>
#include <sys/socket.h>

namespace vhostd::vhost_user {

Result<void> BackendChannel::send(BackendRequest request) {
    if (!socket_.valid()) {
        return make_error(ENOTCONN, "no backend channel (SET_BACKEND_REQ_FD was not sent)");
    }
    const MessageHeader header{static_cast<uint32_t>(request), kVersion, 0};
    ssize_t sent = 0;
    do {
        sent = ::send(socket_.get(), &header, sizeof(header), MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
        return errno_error(
            fmt::format("backend channel: cannot send request {}", static_cast<uint32_t>(request)));
    }
    if (static_cast<size_t>(sent) != sizeof(header)) {
        close();
        return make_error(EIO, "backend channel: short send ({} of {} bytes)", sent,
                          sizeof(header));
    }
    return {};
}

}  // namespace vhostd::vhost_user

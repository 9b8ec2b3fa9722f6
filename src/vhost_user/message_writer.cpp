// MessageWriter: buffered, non-blocking sends.
#include "vhost_user/message_writer.hpp"

#include <sys/socket.h>

namespace vhostd::vhost_user {

void MessageWriter::enqueue(const Message& message) {
    const auto* header = reinterpret_cast<const std::byte*>(&message.header);
    buffer_.insert(buffer_.end(), header, header + sizeof(MessageHeader));
    const auto body = message.body();
    buffer_.insert(buffer_.end(), body.begin(), body.end());
}

Result<void> MessageWriter::flush(int fd) {
    while (pending()) {
        // MSG_NOSIGNAL: a frontend that went away is an error value, not a SIGPIPE.
        const ssize_t n =
            ::send(fd, buffer_.data() + offset_, pending_bytes(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return {};
            }
            return errno_error("send on vhost-user socket");
        }
        offset_ += static_cast<size_t>(n);
    }
    buffer_.clear();
    offset_ = 0;
    return {};
}

}  // namespace vhostd::vhost_user

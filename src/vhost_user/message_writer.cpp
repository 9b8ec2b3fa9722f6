// MessageWriter: buffered, non-blocking sends.
#include "vhost_user/message_writer.hpp"

#include <cstring>

#include <sys/socket.h>

#include "uds/fd_transfer.hpp"

namespace vhostd::vhost_user {

void MessageWriter::enqueue(Message message) {
    if (!message.fds.empty()) {
        attached_.push_back(Attached{buffer_.size(), std::move(message.fds)});
    }
    const auto* header = reinterpret_cast<const std::byte*>(&message.header);
    buffer_.insert(buffer_.end(), header, header + sizeof(MessageHeader));
    const auto body = message.body();
    buffer_.insert(buffer_.end(), body.begin(), body.end());
}

Result<void> MessageWriter::flush(int fd) {
    while (pending()) {
        // A message with fds starts a send of its own, so they ride with its first byte; the
        // bytes before it are sent without them.
        const bool fds_now = !attached_.empty() && attached_.front().at == offset_;
        size_t len = pending_bytes();
        const size_t next_at = fds_now
                                   ? (attached_.size() > 1 ? attached_[1].at : buffer_.size())
                                   : (attached_.empty() ? buffer_.size() : attached_.front().at);
        len = std::min(len, next_at - offset_);
        // MSG_NOSIGNAL (always): a frontend that went away is an error value, not a SIGPIPE.
        const ssize_t n =
            uds::send_with_fds(fd, std::span(buffer_.data() + offset_, len),
                               fds_now ? std::span<const UniqueFd>(attached_.front().fds)
                                       : std::span<const UniqueFd>(),
                               MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return {};
            }
            return errno_error("send on vhost-user socket");
        }
        if (fds_now && n > 0) {
            attached_.pop_front();  // delivered (our copies close here)
        }
        offset_ += static_cast<size_t>(n);
    }
    buffer_.clear();
    offset_ = 0;
    return {};
}

}  // namespace vhostd::vhost_user

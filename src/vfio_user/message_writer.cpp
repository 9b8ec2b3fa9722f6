// MessageWriter: buffered, non-blocking sends with fds at message boundaries.
#include "vfio_user/message_writer.hpp"

#include <sys/socket.h>

#include "uds/fd_transfer.hpp"

namespace vhostd::vfio_user {

void MessageWriter::enqueue(Message message) {
    if (!message.fds.empty()) {
        marks_.push_back({buffer_.size(), std::move(message.fds)});
    }
    const auto* header = reinterpret_cast<const std::byte*>(&message.header);
    buffer_.insert(buffer_.end(), header, header + sizeof(Header));
    buffer_.insert(buffer_.end(), message.payload.begin(), message.payload.end());
}

Result<void> MessageWriter::flush(int fd) {
    while (pending()) {
        // Stop before the next reply that carries fds, so they ride with its first byte.
        size_t end = buffer_.size();
        const bool with_fds = !marks_.empty() && marks_.front().offset == sent_;
        if (!with_fds && !marks_.empty()) {
            end = marks_.front().offset;
        } else if (with_fds && marks_.size() > 1) {
            end = marks_[1].offset;
        }
        // MSG_NOSIGNAL (always): a client that went away is an error value, not a SIGPIPE.
        const ssize_t n = uds::send_with_fds(
            fd, std::span(buffer_.data() + sent_, end - sent_),
            with_fds ? std::span<const UniqueFd>(marks_.front().fds) : std::span<const UniqueFd>(),
            MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return {};
            }
            return errno_error("sendmsg on vfio-user socket");
        }
        if (with_fds) {
            marks_.pop_front();  // delivered with the first byte; our duplicates close here
        }
        sent_ += static_cast<size_t>(n);
    }
    buffer_.clear();
    sent_ = 0;
    return {};
}

}  // namespace vhostd::vfio_user

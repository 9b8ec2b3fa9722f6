// MessageWriter: buffered, non-blocking sends with fds at message boundaries.
#include "vfio_user/message_writer.hpp"

#include <sys/socket.h>

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
        iovec iov{buffer_.data() + sent_, end - sent_};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxMsgFds)] = {};
        if (with_fds) {
            const auto& fds = marks_.front().fds;
            msg.msg_control = control;
            msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
            cmsghdr* c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
            for (size_t i = 0; i < fds.size(); ++i) {
                const int raw = fds[i].get();
                std::memcpy(CMSG_DATA(c) + i * sizeof(int), &raw, sizeof(int));
            }
        }
        // MSG_NOSIGNAL: a client that went away is an error value, not a SIGPIPE.
        const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
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

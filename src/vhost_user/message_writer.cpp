// MessageWriter: buffered, non-blocking sends.
#include "vhost_user/message_writer.hpp"

#include <cstring>

#include <sys/socket.h>

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

namespace {

// One non-blocking send of `len` bytes, with `fds` as SCM_RIGHTS (they travel with the first
// byte the kernel takes).
ssize_t send_some(int socket, const std::byte* data, size_t len, const std::vector<UniqueFd>* fds) {
    iovec iov{const_cast<std::byte*>(data), len};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) std::byte control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)]{};
    if (fds != nullptr && !fds->empty()) {
        const size_t count = std::min(fds->size(), kMaxFdsPerMessage);
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
        cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * count);
        for (size_t i = 0; i < count; ++i) {
            const int raw = (*fds)[i].get();
            std::memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &raw, sizeof(int));
        }
    }
    // MSG_NOSIGNAL: a frontend that went away is an error value, not a SIGPIPE.
    return ::sendmsg(socket, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

}  // namespace

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
        const ssize_t n = send_some(fd, buffer_.data() + offset_, len,
                                    fds_now ? &attached_.front().fds : nullptr);
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

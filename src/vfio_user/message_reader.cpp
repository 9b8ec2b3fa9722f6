// MessageReader: recvmsg with SCM_RIGHTS, header validation, partial reads.
#include "vfio_user/message_reader.hpp"

#include <sys/socket.h>

namespace vhostd::vfio_user {

void MessageReader::reset() {
    partial_ = Message{};
    header_bytes_ = 0;
    payload_bytes_ = 0;
}

Result<size_t> MessageReader::receive(int fd, std::byte* dst, size_t len) {
    // Room for the fds one message may carry (the max_msg_fds we advertise); the kernel closes
    // what does not fit and sets MSG_CTRUNC.
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxMsgFds)];
    iovec iov{dst, len};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n;
    do {
        n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errno_error("recvmsg on vfio-user socket");
    }
    // Own every descriptor before looking at anything else, so no path leaks one. Past the
    // limit (the message came in pieces, each with fds) they are closed at once.
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int received;
            std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            UniqueFd owned(received);
            if (partial_.fds.size() < kMaxMsgFds) {
                partial_.fds.push_back(std::move(owned));
            } else {
                partial_.fds_truncated = true;
            }
        }
    }
    // Spec "max_msg_fds": the client may not send more than we advertised. The message's bytes
    // are intact, so it gets an error reply rather than a closed connection.
    if ((msg.msg_flags & MSG_CTRUNC) != 0) {
        partial_.fds_truncated = true;
    }
    return static_cast<size_t>(n);
}

Result<void> MessageReader::check_header() const {
    const Header& h = partial_.header;
    // Spec "Header": msg_size counts the header itself. Anything smaller, or larger than the
    // largest command we accept (a REGION_WRITE of max_data_xfer_size), leaves us no way to
    // find the next message.
    if (h.msg_size < sizeof(Header) || h.msg_size > kMaxMessageSize) {
        return make_error(EPROTO, "command {} (msg_id {}) announces {} bytes (allowed {} to {})",
                          h.command, h.msg_id, h.msg_size, sizeof(Header), kMaxMessageSize);
    }
    // We never send commands, so a reply (or an unknown type) means the stream is not what
    // the client thinks it is.
    if ((h.flags & kTypeMask) != kTypeCommand) {
        return make_error(EPROTO, "message {} (msg_id {}) has type {}, expected a command",
                          h.command, h.msg_id, h.flags & kTypeMask);
    }
    return {};
}

Result<MessageReader::Status> MessageReader::read(int fd, Message& out) {
    constexpr size_t kHeaderSize = sizeof(Header);
    for (;;) {
        std::byte* dst;
        size_t want;
        if (header_bytes_ < kHeaderSize) {
            dst = reinterpret_cast<std::byte*>(&partial_.header) + header_bytes_;
            want = kHeaderSize - header_bytes_;
        } else {
            dst = partial_.payload.data() + payload_bytes_;
            want = partial_.payload.size() - payload_bytes_;
        }
        if (want > 0) {
            auto got = receive(fd, dst, want);
            if (!got) {
                if (got.error().code == EAGAIN || got.error().code == EWOULDBLOCK) {
                    return Status::would_block;
                }
                return std::unexpected(std::move(got).error());
            }
            if (*got == 0) {
                reset();
                return Status::closed;
            }
            if (header_bytes_ < kHeaderSize) {
                header_bytes_ += *got;
                if (header_bytes_ == kHeaderSize) {
                    VHOSTD_TRY(check_header());
                    // Bounded by check_header(): at most kMaxMessageSize.
                    partial_.payload.resize(partial_.header.msg_size - kHeaderSize);
                }
            } else {
                payload_bytes_ += *got;
            }
        }
        if (header_bytes_ == kHeaderSize && payload_bytes_ == partial_.payload.size()) {
            out = std::move(partial_);
            reset();
            return Status::message;
        }
    }
}

}  // namespace vhostd::vfio_user

// MessageReader: recvmsg with SCM_RIGHTS, header validation, partial reads.
#include "vhost_user/message_reader.hpp"

#include <cstring>

#include <sys/socket.h>

namespace vhostd::vhost_user {

void MessageReader::reset() {
    partial_ = Message{};
    header_bytes_ = 0;
    payload_bytes_ = 0;
}

Result<size_t> MessageReader::receive(int fd, std::byte* dst, size_t len) {
    // Room for exactly the fds one message may carry; more makes the kernel set MSG_CTRUNC
    // (and close the excess itself).
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
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
        return errno_error("recvmsg on vhost-user socket");
    }
    // Own every descriptor before looking at anything else, so no error path leaks one.
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int received;
            std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            partial_.fds.emplace_back(received);
        }
    }
    // Spec "Message Specification": a message carries at most 8 fds (QEMU's
    // VHOST_MEMORY_BASELINE_NREGIONS); more cannot be meant for any request we know.
    if ((msg.msg_flags & MSG_CTRUNC) != 0 || partial_.fds.size() > kMaxFdsPerMessage) {
        return make_error(EPROTO, "more than {} file descriptors sent with one message",
                          kMaxFdsPerMessage);
    }
    return static_cast<size_t>(n);
}

Result<void> MessageReader::check_header() const {
    const MessageHeader& h = partial_.header;
    // Spec "Header": the lower two flag bits are the protocol version, currently 1.
    if ((h.flags & kVersionMask) != kVersion) {
        return make_error(EPROTO, "request {} has protocol version {}, expected {}", h.request,
                          h.flags & kVersionMask, kVersion);
    }
    // No request we accept has a larger payload; refusing early bounds the read buffer.
    if (h.size > kMaxPayloadSize) {
        return make_error(EPROTO, "request {} announces a payload of {} bytes (maximum {})",
                          h.request, h.size, kMaxPayloadSize);
    }
    return {};
}

Result<MessageReader::Status> MessageReader::read(int fd, Message& out) {
    constexpr size_t kHeaderSize = sizeof(MessageHeader);
    for (;;) {
        std::byte* dst;
        size_t want;
        if (header_bytes_ < kHeaderSize) {
            dst = reinterpret_cast<std::byte*>(&partial_.header) + header_bytes_;
            want = kHeaderSize - header_bytes_;
        } else {
            dst = partial_.payload.data() + payload_bytes_;
            want = partial_.header.size - payload_bytes_;
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
                }
            } else {
                payload_bytes_ += *got;
            }
        }
        if (header_bytes_ == kHeaderSize && payload_bytes_ == partial_.header.size) {
            out = std::move(partial_);
            reset();
            return Status::message;
        }
    }
}

}  // namespace vhostd::vhost_user

// MessageReader: the vhost-user header policy of the framed reader.
#include "vhost_user/message_reader.hpp"

namespace vhostd::vhost_user {

Result<size_t> Framing::payload_size(const MessageHeader& h) {
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
    return h.size;
}

Result<void> Framing::fds_truncated(Message& /*message*/) {
    // Spec "Message Specification": a message carries at most 8 fds (QEMU's
    // VHOST_MEMORY_BASELINE_NREGIONS); more cannot be meant for any request we know.
    return make_error(EPROTO, "more than {} file descriptors sent with one message",
                      kMaxFdsPerMessage);
}

}  // namespace vhostd::vhost_user

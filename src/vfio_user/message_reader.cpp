// MessageReader: the vfio-user header policy of the framed reader.
#include "vfio_user/message_reader.hpp"

namespace vhostd::vfio_user {

Result<size_t> Framing::payload_size(const Header& h) {
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
    return h.msg_size - sizeof(Header);
}

}  // namespace vhostd::vfio_user

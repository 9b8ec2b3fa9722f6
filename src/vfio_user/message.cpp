// Message: payload checks and reply construction.
#include "vfio_user/message.hpp"

namespace vhostd::vfio_user {

Result<void> Message::expect_empty() const {
    if (!payload.empty()) {
        return make_error(EINVAL, "{}: unexpected payload of {} bytes", name(), payload.size());
    }
    return {};
}

Result<void> Message::expect_at_most_fds(size_t count) const {
    if (fds.size() > count) {
        return make_error(EINVAL, "{}: came with {} file descriptors, expected at most {}", name(),
                          fds.size(), count);
    }
    return {};
}

void Reply::append(std::span<const std::byte> bytes) {
    // resize + memcpy rather than insert(): g++ 12 reports a bogus overflow for the latter.
    const size_t at = body.size();
    body.resize(at + bytes.size());
    if (!bytes.empty()) {
        std::memcpy(body.data() + at, bytes.data(), bytes.size());
    }
}

Message make_reply(const Header& request, Reply reply) {
    Message m;
    m.header.msg_id = request.msg_id;
    m.header.command = request.command;
    m.header.flags = kTypeReply;
    m.header.msg_size = static_cast<uint32_t>(sizeof(Header) + reply.body.size());
    m.payload = std::move(reply.body);
    m.fds = std::move(reply.fds);
    return m;
}

Message make_error_reply(const Header& request, int error) {
    Message m;
    m.header.msg_id = request.msg_id;
    m.header.command = request.command;
    m.header.flags = kTypeReply | kFlagError;
    m.header.msg_size = sizeof(Header);
    // An errno is positive; a failure without one still reports something.
    m.header.error_no = static_cast<uint32_t>(error > 0 ? error : EINVAL);
    return m;
}

}  // namespace vhostd::vfio_user

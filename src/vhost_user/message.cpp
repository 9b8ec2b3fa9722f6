// Message: payload checks and reply construction.
#include "vhost_user/message.hpp"

#include <algorithm>

namespace vhostd::vhost_user {

Result<void> Message::expect_empty() const {
    if (header.size != 0) {
        return make_error(EINVAL, "{}: unexpected payload of {} bytes", name(), header.size);
    }
    return {};
}

Result<void> Message::expect_fds(size_t count) const {
    if (fds.size() != count) {
        return make_error(EINVAL, "{}: came with {} file descriptors, expected {}", name(),
                          fds.size(), count);
    }
    return {};
}

Message Message::reply(Request request, std::span<const std::byte> body) {
    Message m;
    m.header.request = static_cast<uint32_t>(request);
    m.header.flags = kVersion | kFlagReply;
    const size_t n = std::min(body.size(), m.payload.size());
    m.header.size = static_cast<uint32_t>(n);
    if (n != 0) {  // an empty span may have a null data()
        std::memcpy(m.payload.data(), body.data(), n);
    }
    return m;
}

Message Message::reply_u64(Request request, uint64_t value) {
    return reply_with(request, value);
}

}  // namespace vhostd::vhost_user

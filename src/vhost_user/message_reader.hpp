// MessageReader: assembles vhost-user messages from a non-blocking stream socket (uds's framed
// reader; this file is the vhost-user header policy: the version check, the payload bound and
// the fd limit).
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "base/error.hpp"
#include "uds/framed_reader.hpp"
#include "vhost_user/message.hpp"

namespace vhostd::vhost_user {

struct Framing {
    using Message = vhost_user::Message;
    static constexpr size_t kMaxFds = kMaxFdsPerMessage;
    static constexpr size_t kMaxPayload = kMaxPayloadSize;
    static constexpr std::string_view kSocket = "vhost-user socket";

    // Spec "Header": version and payload size checks of a complete header.
    [[nodiscard]] static Result<size_t> payload_size(const MessageHeader& header);
    [[nodiscard]] static std::span<std::byte> payload_buffer(Message& message, size_t size) {
        return std::span(message.payload).first(size);
    }
    // Spec "Message Specification": too many fds close the connection.
    [[nodiscard]] static Result<void> fds_truncated(Message& message);
};

using MessageReader = uds::FramedReader<Framing>;

}  // namespace vhostd::vhost_user

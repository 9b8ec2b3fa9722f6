// MessageReader: assembles vfio-user commands from a non-blocking stream socket (uds's framed
// reader; this file is the vfio-user header policy). A header whose size or type cannot be
// trusted loses the framing: that is an error, and the caller closes. Too many fds are not:
// the message is marked and answered with an error.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "base/error.hpp"
#include "uds/framed_reader.hpp"
#include "vfio_user/message.hpp"

namespace vhostd::vfio_user {

struct Framing {
    using Message = vfio_user::Message;
    static constexpr size_t kMaxFds = kMaxMsgFds;
    static constexpr size_t kMaxPayload = kMaxMessageSize - sizeof(Header);
    static constexpr std::string_view kSocket = "vfio-user socket";

    // Spec "Header": msg_size and type checks of a complete header.
    [[nodiscard]] static Result<size_t> payload_size(const Header& header);
    [[nodiscard]] static std::span<std::byte> payload_buffer(Message& message, size_t size) {
        message.payload.resize(size);  // bounded by payload_size(): at most kMaxPayload
        return message.payload;
    }
    // Spec "max_msg_fds": marks the message, which gets an error reply.
    [[nodiscard]] static Result<void> fds_truncated(Message& message) {
        message.fds_truncated = true;
        return {};
    }
};

using MessageReader = uds::FramedReader<Framing>;

}  // namespace vhostd::vfio_user

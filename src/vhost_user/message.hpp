// Message: one vhost-user message as it travels on the socket: the header, up to
// kMaxPayloadSize payload bytes and the file descriptors that came with it. Typed accessors
// check the payload size exactly, so a handler never reads bytes the frontend did not send.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "spec/vhost_user.hpp"

namespace vhostd::vhost_user {

struct Message {
    MessageHeader header{};
    std::array<std::byte, kMaxPayloadSize> payload{};  // the first header.size bytes are valid
    std::vector<UniqueFd> fds;                         // received fds, owned until used

    [[nodiscard]] Request request() const { return static_cast<Request>(header.request); }
    [[nodiscard]] const char* name() const { return to_string(request()); }
    [[nodiscard]] bool need_reply() const { return (header.flags & kFlagNeedReply) != 0; }
    [[nodiscard]] std::span<const std::byte> body() const { return {payload.data(), header.size}; }

    // The payload as a T: EINVAL unless it is exactly sizeof(T) bytes.
    template <class T>
    [[nodiscard]] Result<T> payload_as() const {
        static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= kMaxPayloadSize);
        if (header.size != sizeof(T)) {
            return make_error(EINVAL, "{}: payload of {} bytes, expected {}", name(), header.size,
                              sizeof(T));
        }
        T value;
        std::memcpy(&value, payload.data(), sizeof(T));
        return value;
    }
    [[nodiscard]] Result<uint64_t> payload_u64() const { return payload_as<uint64_t>(); }
    // No payload at all.
    [[nodiscard]] Result<void> expect_empty() const;
    // Exactly `count` fds arrived with the message.
    [[nodiscard]] Result<void> expect_fds(size_t count) const;

    // Back-end replies: the request's code, version 1 and the reply flag, nothing else (QEMU
    // rejects a reply whose flags differ).
    static Message reply(Request request, std::span<const std::byte> body);
    static Message reply_u64(Request request, uint64_t value);
    template <class T>
    static Message reply_with(Request request, const T& value) {
        static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= kMaxPayloadSize);
        return reply(request, std::as_bytes(std::span(&value, 1)));
    }
};

}  // namespace vhostd::vhost_user

// Message: one vfio-user message as it travels on the socket: the header, the payload
// (msg_size - 16 bytes) and the file descriptors that came with it; and the limits vhostd
// advertises in VERSION, which bound what the reader accepts. Typed accessors check the
// payload size, so a handler never reads bytes the client did not send.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "spec/vfio_user.hpp"

namespace vhostd::vfio_user {

// What vhostd advertises (VERSION capabilities) and therefore accepts.
// max_msg_fds: QEMU refuses more than 16 and sends DEVICE_SET_IRQS eventfds in chunks of it.
constexpr size_t kMaxMsgFds = 16;
// max_data_xfer_size: the spec's default, which clients that ignore our capabilities (SPDK's)
// assume anyway.
constexpr uint32_t kMaxDataXferSize = 1024 * 1024;
// The largest message: a REGION_WRITE of kMaxDataXferSize bytes.
constexpr size_t kMaxMessageSize = sizeof(Header) + sizeof(RegionAccess) + kMaxDataXferSize;
// DMA_MAP granularity we advertise (pgsizes): 4 KiB pages.
constexpr uint64_t kPageSize = 4096;

struct Message {
    Header header{};
    std::vector<std::byte> payload;  // msg_size - sizeof(Header) bytes
    std::vector<UniqueFd> fds;       // received fds, owned until used
    // More fds arrived than kMaxMsgFds: the surplus was closed and the message is refused.
    bool fds_truncated = false;

    [[nodiscard]] Command command() const { return static_cast<Command>(header.command); }
    [[nodiscard]] const char* name() const { return to_string(command()); }
    [[nodiscard]] bool no_reply() const { return (header.flags & kFlagNoReply) != 0; }
    [[nodiscard]] std::span<const std::byte> body() const { return payload; }

    // The payload's first sizeof(T) bytes as a T: EINVAL if it is shorter. For the query
    // commands whose request may carry the client's whole reply buffer (SPDK's client sends
    // DEVICE_GET_REGION_INFO with argsz bytes of payload).
    template <class T>
    [[nodiscard]] Result<T> prefix_as() const {
        static_assert(std::is_trivially_copyable_v<T>);
        if (payload.size() < sizeof(T)) {
            return make_error(EINVAL, "{}: payload of {} bytes, expected at least {}", name(),
                              payload.size(), sizeof(T));
        }
        T value;
        std::memcpy(&value, payload.data(), sizeof(T));
        return value;
    }
    // The payload as a T: EINVAL unless it is exactly sizeof(T) bytes.
    template <class T>
    [[nodiscard]] Result<T> payload_as() const {
        if (payload.size() != sizeof(T)) {
            return make_error(EINVAL, "{}: payload of {} bytes, expected {}", name(),
                              payload.size(), sizeof(T));
        }
        return prefix_as<T>();
    }
    [[nodiscard]] Result<void> expect_empty() const;
    // At most `count` fds came with the message (extra ones are the client's mistake).
    [[nodiscard]] Result<void> expect_at_most_fds(size_t count) const;
};

// Reply body and the fds to pass with it (duplicates we own until they are sent).
struct Reply {
    std::vector<std::byte> body;
    std::vector<UniqueFd> fds;

    template <class T>
    void append(const T& value) {
        static_assert(std::is_trivially_copyable_v<T>);
        append(std::as_bytes(std::span(&value, 1)));
    }
    void append(std::span<const std::byte> bytes);
};

// Spec "Header": a reply echoes the command's msg_id and command, has type Reply, and, on
// failure, the Error flag, an errno and no payload.
Message make_reply(const Header& request, Reply reply);
Message make_error_reply(const Header& request, int error);

}  // namespace vhostd::vfio_user

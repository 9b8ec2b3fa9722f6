// FramedReader: assembles one protocol's messages (a fixed-size header announcing the payload
// size, the payload, and fds passed with SCM_RIGHTS) from a non-blocking stream socket. A peer
// may deliver a message in any number of pieces; its fds arrive with some byte of it. The
// reader never consumes bytes past the current message, so fds cannot be attributed to the
// wrong one, and it owns every received fd from the moment recvmsg returns.
//
// The protocol's `Framing` policy (a traits struct; nothing is called per byte):
//   using Message = ...;   // has `header` (trivially copyable, the wire header) and
//                          // `std::vector<UniqueFd> fds`
//   static constexpr size_t kMaxFds;          // fds one message may carry
//   static constexpr size_t kMaxPayload;      // bytes after the header
//   static constexpr std::string_view kSocket;  // "vhost-user socket", for errors
//   // Checks a complete header (the spec's rules); its payload size, at most kMaxPayload.
//   static Result<size_t> payload_size(const decltype(Message::header)&);
//   // Where the `size` payload bytes go (storage sized for them).
//   static std::span<std::byte> payload_buffer(Message&, size_t size);
//   // More than kMaxFds arrived with the message (the surplus is closed): an error closes the
//   // connection; otherwise the policy marks the message for an error reply.
//   static Result<void> fds_truncated(Message&);
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>

#include "base/error.hpp"
#include "uds/fd_transfer.hpp"

namespace vhostd::uds {

enum class ReadStatus : uint8_t {
    message,      // `out` holds a complete message
    would_block,  // the socket has nothing more for now
    closed,       // the peer closed the connection (a partial message is dropped)
};

template <class Framing>
class FramedReader {
  public:
    using Message = typename Framing::Message;
    using Status = ReadStatus;

    // Reads until one message is complete, the socket would block or the peer closed. An error
    // is a framing violation or a socket error: the caller must close the connection.
    [[nodiscard]] Result<Status> read(int fd, Message& out) {
        for (;;) {
            std::span<std::byte> dst;
            if (header_bytes_ < kHeaderSize) {
                dst = std::as_writable_bytes(std::span(&partial_.header, 1)).subspan(header_bytes_);
            } else {
                dst = payload_.subspan(payload_bytes_);
            }
            if (!dst.empty()) {
                auto got =
                    receive_with_fds(fd, dst, partial_.fds, Framing::kMaxFds, Framing::kSocket);
                if (!got) {
                    if (got.error().code == EAGAIN || got.error().code == EWOULDBLOCK) {
                        return Status::would_block;
                    }
                    return std::unexpected(std::move(got).error());
                }
                if (got->fds_truncated) {
                    VHOSTD_TRY(Framing::fds_truncated(partial_));
                }
                if (got->bytes == 0) {
                    reset();
                    return Status::closed;
                }
                if (header_bytes_ < kHeaderSize) {
                    header_bytes_ += got->bytes;
                    if (header_bytes_ == kHeaderSize) {
                        VHOSTD_TRY(start_payload());
                    }
                } else {
                    payload_bytes_ += got->bytes;
                }
            }
            if (header_bytes_ == kHeaderSize && payload_bytes_ == payload_.size()) {
                out = std::move(partial_);
                reset();
                return Status::message;
            }
        }
    }

    // True while part of a message has been received.
    [[nodiscard]] bool mid_message() const { return header_bytes_ != 0; }
    // Drops a partial message and closes its fds.
    void reset() {
        partial_ = Message{};
        header_bytes_ = 0;
        payload_ = {};
        payload_bytes_ = 0;
    }

  private:
    using Header = decltype(Message::header);
    static_assert(std::is_trivially_copyable_v<Header>);
    static constexpr size_t kHeaderSize = sizeof(Header);

    [[nodiscard]] Result<void> start_payload() {
        const size_t size = VHOSTD_TRY(Framing::payload_size(partial_.header));
        // The policy's checks bound the size; this keeps the buffer bounded whatever they say.
        if (size > Framing::kMaxPayload) {
            return make_error(EPROTO, "{}: payload of {} bytes announced (maximum {})",
                              Framing::kSocket, size, Framing::kMaxPayload);
        }
        payload_ = Framing::payload_buffer(partial_, size);
        return {};
    }

    Message partial_{};
    size_t header_bytes_ = 0;
    std::span<std::byte> payload_;  // in partial_, once its header is complete
    size_t payload_bytes_ = 0;
};

}  // namespace vhostd::uds

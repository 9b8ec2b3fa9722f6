// MessageReader: assembles vfio-user commands from a non-blocking stream socket. A client may
// deliver a message in any number of pieces; its fds (SCM_RIGHTS) arrive with some byte of it.
// The reader never consumes bytes past the current message, so fds cannot be attributed to
// the wrong one, and it owns every received fd from the moment recvmsg returns. A header whose
// size or type cannot be trusted loses the framing: that is an error, and the caller closes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/error.hpp"
#include "vfio_user/message.hpp"

namespace vhostd::vfio_user {

class MessageReader {
  public:
    enum class Status : uint8_t {
        message,      // `out` holds a complete message
        would_block,  // the socket has nothing more for now
        closed,       // the peer closed the connection (a partial message is dropped)
    };

    // Reads until one message is complete, the socket would block or the peer closed. An error
    // is a framing violation or a socket error: the caller must close the connection.
    [[nodiscard]] Result<Status> read(int fd, Message& out);

    // True while part of a message has been received.
    [[nodiscard]] bool mid_message() const { return header_bytes_ != 0; }
    // Drops a partial message and closes its fds.
    void reset();

  private:
    // One recvmsg of at most `len` bytes into `dst`, taking any fds that came with them.
    [[nodiscard]] Result<size_t> receive(int fd, std::byte* dst, size_t len);
    [[nodiscard]] Result<void> check_header() const;

    Message partial_;
    size_t header_bytes_ = 0;   // of the 16-byte header
    size_t payload_bytes_ = 0;  // of msg_size - 16
};

}  // namespace vhostd::vfio_user

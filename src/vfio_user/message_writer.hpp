// MessageWriter: queues replies for a non-blocking socket. What the socket does not take now
// stays buffered until the connection sees EPOLLOUT, so a client that does not read its
// replies can never block the control reactor. A reply's fds are sent with its first byte, in
// a sendmsg of their own: clients (QEMU, SPDK) read the 16-byte header with recvmsg and expect
// the fds there.
#pragma once

#include <cstddef>
#include <deque>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "vfio_user/message.hpp"

namespace vhostd::vfio_user {

class MessageWriter {
  public:
    // Appends the header and payload; takes the message's fds.
    void enqueue(Message message);
    // Writes as much as the socket accepts now; an error means the connection is dead.
    [[nodiscard]] Result<void> flush(int fd);

    [[nodiscard]] bool pending() const { return sent_ < buffer_.size(); }
    [[nodiscard]] size_t pending_bytes() const { return buffer_.size() - sent_; }

  private:
    // fds to attach to the byte at `offset` of buffer_ (a reply's first byte).
    struct FdMark {
        size_t offset;
        std::vector<UniqueFd> fds;
    };

    std::vector<std::byte> buffer_;
    size_t sent_ = 0;  // bytes of buffer_ already written
    std::deque<FdMark> marks_;
};

}  // namespace vhostd::vfio_user

// MessageWriter: queues replies for a non-blocking socket. What the socket does not take now
// stays buffered until the connection sees EPOLLOUT, so a frontend that does not read its
// replies can never block the control reactor.
#pragma once

#include <cstddef>
#include <deque>
#include <vector>

#include "base/error.hpp"
#include "vhost_user/message.hpp"

namespace vhostd::vhost_user {

class MessageWriter {
  public:
    // Appends the header and payload; the message's fds (GET_INFLIGHT_FD's) are sent with its
    // first byte and closed once they are on their way.
    void enqueue(Message message);
    // Writes as much as the socket accepts now; an error means the connection is dead.
    [[nodiscard]] Result<void> flush(int fd);

    [[nodiscard]] bool pending() const { return offset_ < buffer_.size(); }
    [[nodiscard]] size_t pending_bytes() const { return buffer_.size() - offset_; }

  private:
    struct Attached {
        size_t at;  // offset in buffer_ of the first byte of the message they belong to
        std::vector<UniqueFd> fds;
    };

    std::vector<std::byte> buffer_;
    size_t offset_ = 0;  // bytes of buffer_ already written
    std::deque<Attached> attached_;
};

}  // namespace vhostd::vhost_user

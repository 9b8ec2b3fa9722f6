// BackendChannel: the socket over which the backend sends requests to the frontend (spec
// "Back-end communication", SET_BACKEND_REQ_FD). vhostd uses it for one thing: telling the
// frontend that the configuration space changed (a resized disk).
#pragma once

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "spec/vhost_user.hpp"

namespace vhostd::vhost_user {

class BackendChannel {
  public:
    BackendChannel() = default;
    explicit BackendChannel(UniqueFd socket) : socket_(std::move(socket)) {}

    [[nodiscard]] bool open() const { return socket_.valid(); }
    void close() { socket_ = UniqueFd(); }

    // Sends `request` with no payload and without NEED_REPLY: the control reactor never waits
    // for the frontend. Never blocks: a full socket buffer is an error (EAGAIN), as is a
    // frontend that has gone (EPIPE, without SIGPIPE). After a short send the channel is
    // closed: the frontend would read a torn message.
    [[nodiscard]] Result<void> send(BackendRequest request);

  private:
    UniqueFd socket_;
};

}  // namespace vhostd::vhost_user

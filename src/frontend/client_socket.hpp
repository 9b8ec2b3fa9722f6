// ClientSocket: the client's end of a message socket, shared by the vhost-user frontend
// (Connection) and the vfio-user client (VfioUserChannel): sends with fds (SCM_RIGHTS, with the
// first byte), receives exact byte counts with their fds (bounded), and waits for the peer to
// close; every operation has a deadline so a dead or stuck server fails the call instead of
// hanging the caller. The protocols' framing and reply checks stay in their channels.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "uds/fd_transfer.hpp"

namespace vhostd::frontend {

class ClientSocket {
  public:
    using Clock = std::chrono::steady_clock;

    // How errors name the socket and the server: {"vhost-user", "vhost-user back-end"}.
    struct Names {
        std::string_view protocol;
        std::string_view peer;
    };
    // The most fds one send or receive may carry here.
    static constexpr size_t kMaxFds = uds::kMaxFdsLimit;

    ClientSocket(UniqueFd socket, Names names, std::chrono::milliseconds timeout)
        : socket_(std::move(socket)), names_(names), timeout_(timeout) {}

    // `head` then `body` in as many sends as the socket needs, `fds` (at most `max_fds`) with
    // the first byte; the whole within the timeout.
    Result<void> send_all(std::span<const std::byte> head, std::span<const std::byte> body,
                          std::span<const int> fds, size_t max_fds);
    // Exactly `len` bytes into `dst`, appending the fds that come with them; EPROTO if more than
    // `max_fds` have arrived in all, ECONNRESET on EOF.
    Result<void> receive_exact(std::byte* dst, size_t len, std::vector<UniqueFd>* fds,
                               size_t max_fds, Clock::time_point deadline);
    // Waits until the peer closes the connection: ok on EOF (and closes ours); ETIMEDOUT if it
    // stays open; EPROTO if it sends something instead.
    Result<void> wait_closed(std::chrono::milliseconds timeout);
    // True if nothing is waiting to be read right now.
    [[nodiscard]] bool nothing_pending() const;

    [[nodiscard]] int fd() const { return socket_.get(); }
    [[nodiscard]] bool valid() const { return socket_.valid(); }
    explicit operator bool() const { return valid(); }
    void close() { socket_.reset(); }

  private:
    Result<void> wait_ready(short events, Clock::time_point deadline);

    UniqueFd socket_;
    Names names_;
    std::chrono::milliseconds timeout_;  // of one operation, for error messages
};

}  // namespace vhostd::frontend

// VfioUserChannel: the client's end of a vfio-user socket. Sends commands with their fds
// (SCM_RIGHTS, with the first byte), receives messages with theirs, and matches replies to
// commands (msg_id, command, type); every send and receive has a deadline so a dead or stuck
// server fails the call instead of hanging the caller. The raw calls let tests send what no
// well-behaved client would.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "frontend/client_socket.hpp"
#include "spec/vfio_user.hpp"

namespace vhostd::frontend {

// One received message.
struct VfioUserMessage {
    vfio_user::Header header{};
    std::vector<std::byte> payload;
    std::vector<UniqueFd> fds;

    [[nodiscard]] bool is_error() const { return (header.flags & vfio_user::kFlagError) != 0; }
    // The payload's first sizeof(T) bytes; EPROTO if it is shorter.
    template <class T>
    [[nodiscard]] Result<T> prefix() const {
        if (payload.size() < sizeof(T)) {
            return make_error(EPROTO, "reply to command {} has {} payload bytes, expected {}",
                              header.command, payload.size(), sizeof(T));
        }
        T value;
        std::memcpy(&value, payload.data(), sizeof(T));
        return value;
    }
    // The payload as a T; EPROTO unless it is exactly sizeof(T) bytes.
    template <class T>
    [[nodiscard]] Result<T> as() const {
        if (payload.size() != sizeof(T)) {
            return make_error(EPROTO, "reply to command {} has {} payload bytes, expected {}",
                              header.command, payload.size(), sizeof(T));
        }
        return prefix<T>();
    }
};

class VfioUserChannel {
  public:
    struct Options {
        // Deadline of one send or one receive.
        std::chrono::milliseconds timeout{5000};
        // connect() retries while the socket is missing or refuses, up to this long.
        std::chrono::milliseconds connect_timeout{5000};
        // Largest message and most fds we accept from the server (what the client proposes as
        // max_data_xfer_size and max_msg_fds bounds them).
        size_t max_message_size = sizeof(vfio_user::Header) + sizeof(vfio_user::RegionAccess) +
                                  vfio_user::capability::kDefaultMaxDataXferSize;
        size_t max_fds = 16;
    };

    static Result<VfioUserChannel> connect(const std::string& path, const Options& options);
    // Wraps an already connected stream socket (tests use a socketpair).
    static VfioUserChannel adopt(UniqueFd socket, const Options& options);

    // Sends a command and returns its msg_id. `flags` may add No_reply; the type is Command.
    Result<uint16_t> send(vfio_user::Command command, std::span<const std::byte> payload,
                          std::span<const int> fds = {}, uint32_t flags = 0);
    // Sends a command and receives its reply: EPROTO if the next message is not the reply to
    // it, the server's errno if the reply has the Error flag (an error reply must carry no
    // payload or fds).
    Result<VfioUserMessage> call(vfio_user::Command command, std::span<const std::byte> payload,
                                 std::span<const int> fds = {});

    // --- raw I/O, for tests that send malformed traffic ---
    // A header as given (msg_size included) followed by `payload`.
    Result<void> send_header(const vfio_user::Header& header, std::span<const std::byte> payload,
                             std::span<const int> fds = {});
    // Arbitrary bytes; fds ride with the first byte.
    Result<void> send_bytes(std::span<const std::byte> bytes, std::span<const int> fds = {});
    // Receives one message of any kind.
    Result<VfioUserMessage> receive();
    // Receives the reply to command `command` with `msg_id` (checks as call()).
    Result<VfioUserMessage> receive_reply(vfio_user::Command command, uint16_t msg_id);
    // Waits until the peer closes the connection: ok on EOF; ETIMEDOUT if it stays open;
    // EPROTO if it sends something instead.
    Result<void> wait_closed(std::chrono::milliseconds timeout);
    // True if no message is waiting to be read right now.
    [[nodiscard]] bool nothing_pending() const;

    [[nodiscard]] int fd() const { return socket_.fd(); }
    [[nodiscard]] bool connected() const { return socket_.valid(); }
    void close() { socket_.close(); }
    [[nodiscard]] const Options& options() const { return options_; }
    void set_max_message_size(size_t size) { options_.max_message_size = size; }

  private:
    using Clock = ClientSocket::Clock;

    VfioUserChannel(UniqueFd socket, const Options& options)
        : socket_(std::move(socket), {"vfio-user", "vfio-user server"}, options.timeout),
          options_(options) {}

    Result<void> send_all(std::span<const std::byte> head, std::span<const std::byte> body,
                          std::span<const int> fds);
    // A receive that fails on the stream itself (too many fds, EOF) closes the connection.
    Result<void> receive_exact(std::byte* dst, size_t len, std::vector<UniqueFd>* fds,
                               Clock::time_point deadline);

    ClientSocket socket_;
    Options options_;
    uint16_t next_id_ = 0;
};

}  // namespace vhostd::frontend

// Connection: the frontend's end of a vhost-user control socket. Sends requests with their
// fds (SCM_RIGHTS), receives replies, and applies REPLY_ACK; every send and receive has a
// deadline so a dead or stuck back-end fails the call instead of hanging the caller.
#pragma once

#include <array>
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
#include "spec/vhost_user.hpp"

namespace vhostd::frontend {

// One received message: header, payload and the fds that came with it.
struct Message {
    // Replies larger than this are a protocol error (the largest legal one is GET_CONFIG's).
    static constexpr size_t kMaxPayload = 4096;

    vhost_user::MessageHeader header{};
    std::array<std::byte, kMaxPayload> payload{};
    std::vector<UniqueFd> fds;

    [[nodiscard]] std::span<const std::byte> body() const { return {payload.data(), header.size}; }

    // The payload as a T; EPROTO unless the payload is exactly sizeof(T) bytes.
    template <class T>
    [[nodiscard]] Result<T> as() const {
        if (header.size != sizeof(T)) {
            return make_error(EPROTO, "reply to request {} has {} payload bytes, expected {}",
                              header.request, header.size, sizeof(T));
        }
        T value;
        std::memcpy(&value, payload.data(), sizeof(T));
        return value;
    }
};

class Connection {
  public:
    struct Options {
        // Deadline of one send or one receive.
        std::chrono::milliseconds timeout{5000};
        // connect() retries while the socket is missing or refuses, up to this long (a
        // back-end started just before may not be listening yet).
        std::chrono::milliseconds connect_timeout{5000};
    };

    static Result<Connection> connect(const std::string& path, const Options& options);
    static Result<Connection> connect(const std::string& path) { return connect(path, Options{}); }
    // Wraps an already connected stream socket (tests use a socketpair).
    static Connection adopt(UniqueFd socket, const Options& options);

    // After REPLY_ACK is negotiated, request() asks for and checks an ack for every request
    // that has no reply of its own.
    void set_reply_ack(bool on) { reply_ack_ = on; }
    [[nodiscard]] bool reply_ack() const { return reply_ack_; }

    // A request without a reply of its own (SET_*): sent with NEED_REPLY when REPLY_ACK is on,
    // and then a non-zero ack is an error.
    Result<void> request(vhost_user::Request request, std::span<const std::byte> payload = {},
                         std::span<const int> fds = {});
    template <class T>
    Result<void> request_with(vhost_user::Request request, const T& payload,
                              std::span<const int> fds = {}) {
        return this->request(request, std::as_bytes(std::span(&payload, 1)), fds);
    }

    // A request answered by a reply of the same type (GET_*); NEED_REPLY is never set on it.
    Result<Message> call(vhost_user::Request request, std::span<const std::byte> payload = {},
                         std::span<const int> fds = {});
    // A call whose reply is a u64 (GET_FEATURES, GET_QUEUE_NUM, ...).
    Result<uint64_t> call_u64(vhost_user::Request request);

    // --- raw I/O, for tests that send malformed traffic ---
    // Sends a header with the given flags (version bits included by the caller) and payload.
    Result<void> send(vhost_user::Request request, uint32_t flags,
                      std::span<const std::byte> payload, std::span<const int> fds = {});
    // Sends arbitrary bytes; fds ride with the first byte.
    Result<void> send_bytes(std::span<const std::byte> bytes, std::span<const int> fds = {});
    // Receives one message of any kind.
    Result<Message> receive();
    // Receives the reply to `request`: EPROTO unless it is one (REPLY flag, version 1, code).
    Result<Message> receive_reply(vhost_user::Request request);
    // Waits until the peer closes the connection: ok on EOF; ETIMEDOUT if it stays open; EPROTO
    // if it sends something instead.
    Result<void> wait_closed(std::chrono::milliseconds timeout);

    [[nodiscard]] int fd() const { return socket_.fd(); }
    [[nodiscard]] bool connected() const { return socket_.valid(); }
    void close() { socket_.close(); }

  private:
    using Clock = ClientSocket::Clock;

    Connection(UniqueFd socket, const Options& options)
        : socket_(std::move(socket), {"vhost-user", "vhost-user back-end"}, options.timeout),
          options_(options) {}

    ClientSocket socket_;
    Options options_;
    bool reply_ack_ = false;
};

}  // namespace vhostd::frontend

// Connection: vhost-user message I/O over a non-blocking unix stream socket, each operation
// bounded by poll() against a deadline.
#include "frontend/connection.hpp"

#include "frontend/unix_connect.hpp"

namespace vhostd::frontend {

namespace vu = vhost_user;

namespace {

uint32_t code(vu::Request request) {
    return static_cast<uint32_t>(request);
}

}  // namespace

Result<Connection> Connection::connect(const std::string& path, const Options& options) {
    return Connection(VHOSTD_TRY(connect_unix(path, options.connect_timeout)), options);
}

Connection Connection::adopt(UniqueFd socket, const Options& options) {
    return Connection(std::move(socket), options);
}

Result<void> Connection::send(vu::Request request, uint32_t flags,
                              std::span<const std::byte> payload, std::span<const int> fds) {
    const vu::MessageHeader header{code(request), flags, static_cast<uint32_t>(payload.size())};
    return socket_.send_all(std::as_bytes(std::span(&header, 1)), payload, fds,
                            vu::kMaxFdsPerMessage);
}

Result<void> Connection::send_bytes(std::span<const std::byte> bytes, std::span<const int> fds) {
    return socket_.send_all(bytes, {}, fds, vu::kMaxFdsPerMessage);
}

Result<Message> Connection::receive() {
    if (!socket_) {
        return make_error(ENOTCONN, "vhost-user connection is closed");
    }
    const auto deadline = Clock::now() + options_.timeout;
    Message msg;
    VHOSTD_TRY(socket_.receive_exact(reinterpret_cast<std::byte*>(&msg.header), sizeof(msg.header),
                                     &msg.fds, vu::kMaxFdsPerMessage, deadline));
    if (msg.header.size > Message::kMaxPayload) {
        // The stream cannot be resynchronised after an oversized payload.
        close();
        return make_error(EPROTO, "vhost-user message {} has a {}-byte payload", msg.header.request,
                          msg.header.size);
    }
    VHOSTD_TRY(socket_.receive_exact(msg.payload.data(), msg.header.size, &msg.fds,
                                     vu::kMaxFdsPerMessage, deadline));
    return msg;
}

Result<Message> Connection::receive_reply(vu::Request request) {
    Message msg = VHOSTD_TRY(receive());
    const vu::MessageHeader& h = msg.header;
    if (h.request != code(request)) {
        return make_error(EPROTO, "expected a reply to request {}, got message {}", code(request),
                          h.request);
    }
    if ((h.flags & vu::kVersionMask) != vu::kVersion || (h.flags & vu::kFlagReply) == 0) {
        return make_error(EPROTO, "reply to request {} has flags {:#x}", code(request), h.flags);
    }
    return msg;
}

Result<void> Connection::request(vu::Request request, std::span<const std::byte> payload,
                                 std::span<const int> fds) {
    const uint32_t flags = vu::kVersion | (reply_ack_ ? vu::kFlagNeedReply : 0);
    VHOSTD_TRY(send(request, flags, payload, fds));
    if (!reply_ack_) {
        return {};
    }
    const Message reply = VHOSTD_TRY(receive_reply(request));
    const uint64_t ack = VHOSTD_TRY(reply.as<uint64_t>());
    if (ack != 0) {
        return make_error(EIO, "vhost-user back-end failed request {} (ack {})", code(request),
                          ack);
    }
    return {};
}

Result<Message> Connection::call(vu::Request request, std::span<const std::byte> payload,
                                 std::span<const int> fds) {
    VHOSTD_TRY(send(request, vu::kVersion, payload, fds));
    return receive_reply(request);
}

Result<uint64_t> Connection::call_u64(vu::Request request) {
    const Message reply = VHOSTD_TRY(call(request));
    return reply.as<uint64_t>();
}

Result<void> Connection::wait_closed(std::chrono::milliseconds timeout) {
    return socket_.wait_closed(timeout);
}

}  // namespace vhostd::frontend

// VfioUserChannel: vfio-user message I/O over a non-blocking unix stream socket, each
// operation bounded by poll() against a deadline.
#include "frontend/vfio_user_channel.hpp"

#include "frontend/unix_connect.hpp"

namespace vhostd::frontend {

namespace vu = vfio_user;

Result<VfioUserChannel> VfioUserChannel::connect(const std::string& path, const Options& options) {
    return VfioUserChannel(VHOSTD_TRY(connect_unix(path, options.connect_timeout)), options);
}

VfioUserChannel VfioUserChannel::adopt(UniqueFd socket, const Options& options) {
    return VfioUserChannel(std::move(socket), options);
}

Result<void> VfioUserChannel::send_all(std::span<const std::byte> head,
                                       std::span<const std::byte> body, std::span<const int> fds) {
    // Room for what a test may want to overload a server with.
    return socket_.send_all(head, body, fds, ClientSocket::kMaxFds);
}

Result<void> VfioUserChannel::receive_exact(std::byte* dst, size_t len, std::vector<UniqueFd>* fds,
                                            Clock::time_point deadline) {
    auto received = socket_.receive_exact(dst, len, fds, options_.max_fds, deadline);
    if (!received && (received.error().code == EPROTO || received.error().code == ECONNRESET)) {
        close();
    }
    return received;
}

Result<uint16_t> VfioUserChannel::send(vu::Command command, std::span<const std::byte> payload,
                                       std::span<const int> fds, uint32_t flags) {
    const uint16_t id = next_id_++;
    const vu::Header header{id, static_cast<uint16_t>(command),
                            static_cast<uint32_t>(sizeof(vu::Header) + payload.size()),
                            vu::kTypeCommand | (flags & ~vu::kTypeMask), 0};
    VHOSTD_TRY(send_all(std::as_bytes(std::span(&header, 1)), payload, fds));
    return id;
}

Result<void> VfioUserChannel::send_header(const vu::Header& header,
                                          std::span<const std::byte> payload,
                                          std::span<const int> fds) {
    return send_all(std::as_bytes(std::span(&header, 1)), payload, fds);
}

Result<void> VfioUserChannel::send_bytes(std::span<const std::byte> bytes,
                                         std::span<const int> fds) {
    return send_all(bytes, {}, fds);
}

Result<VfioUserMessage> VfioUserChannel::receive() {
    if (!socket_) {
        return make_error(ENOTCONN, "vfio-user connection is closed");
    }
    const auto deadline = Clock::now() + options_.timeout;
    VfioUserMessage msg;
    VHOSTD_TRY(receive_exact(reinterpret_cast<std::byte*>(&msg.header), sizeof(msg.header),
                             &msg.fds, deadline));
    if (msg.header.msg_size < sizeof(vu::Header) ||
        msg.header.msg_size > options_.max_message_size) {
        // The stream cannot be resynchronised after a size we cannot trust.
        close();
        return make_error(EPROTO, "vfio-user message {} announces {} bytes (at most {})",
                          msg.header.command, msg.header.msg_size, options_.max_message_size);
    }
    msg.payload.resize(msg.header.msg_size - sizeof(vu::Header));
    VHOSTD_TRY(receive_exact(msg.payload.data(), msg.payload.size(), &msg.fds, deadline));
    return msg;
}

Result<VfioUserMessage> VfioUserChannel::receive_reply(vu::Command command, uint16_t msg_id) {
    VfioUserMessage msg = VHOSTD_TRY(receive());
    const vu::Header& h = msg.header;
    // Spec "Header": a reply echoes the command's msg_id and command, with type Reply.
    if ((h.flags & vu::kTypeMask) != vu::kTypeReply || h.msg_id != msg_id ||
        h.command != static_cast<uint16_t>(command)) {
        return make_error(EPROTO,
                          "expected the reply to {} (msg_id {}), got command {} msg_id {} flags "
                          "{:#x}",
                          vu::to_string(command), msg_id, h.command, h.msg_id, h.flags);
    }
    if ((h.flags & ~(vu::kTypeMask | vu::kFlagError)) != 0) {
        return make_error(EPROTO, "reply to {} has flags {:#x}", vu::to_string(command), h.flags);
    }
    if (msg.is_error()) {
        // Spec "Header": an error reply "must only include the reply header".
        if (!msg.payload.empty() || !msg.fds.empty()) {
            return make_error(EPROTO, "error reply to {} carries a payload or fds",
                              vu::to_string(command));
        }
        // The errno "may be zero even if the Error bit is set".
        const int code = h.error_no != 0 ? static_cast<int>(h.error_no) : EIO;
        return make_error(code, "vfio-user server failed {}", vu::to_string(command));
    }
    return msg;
}

Result<VfioUserMessage> VfioUserChannel::call(vu::Command command,
                                              std::span<const std::byte> payload,
                                              std::span<const int> fds) {
    const uint16_t id = VHOSTD_TRY(send(command, payload, fds));
    return receive_reply(command, id);
}

bool VfioUserChannel::nothing_pending() const {
    return socket_.nothing_pending();
}

Result<void> VfioUserChannel::wait_closed(std::chrono::milliseconds timeout) {
    return socket_.wait_closed(timeout);
}

}  // namespace vhostd::frontend

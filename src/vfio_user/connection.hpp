// Connection: one client's socket on the control reactor (uds::Connection; this file is what
// vfio-user puts into it: the session, the message I/O, VERSION as the handshake that ends the
// connect deadline). Replies queued when the session asks to close still go out first (a failed
// VERSION is answered).
#pragma once

#include <string_view>

#include "base/log.hpp"
#include "uds/connection.hpp"
#include "vfio_user/message_reader.hpp"
#include "vfio_user/message_writer.hpp"
#include "vfio_user/session.hpp"

namespace vhostd::vfio_user {

struct SocketTraits {
    using Session = vfio_user::Session;
    using Reader = MessageReader;
    using Writer = MessageWriter;
    static constexpr log::Component kLog = log::Component::vfio_user;
    static constexpr std::string_view kPeer = "client";
    static constexpr std::string_view kNoHandshake = "no VERSION";
    static constexpr bool kReplyBeforeClose = true;
    static constexpr std::string_view kListening = "listening for a vfio-user client";
    static constexpr std::string_view kSessionEnded = "device reset, memory released";
    static bool handshake_done(const Session& session) { return session.negotiated(); }
};

using ConnectionOptions = uds::ConnectionOptions;
using Connection = uds::Connection<SocketTraits>;

}  // namespace vhostd::vfio_user

extern template class vhostd::uds::Connection<vhostd::vfio_user::SocketTraits>;

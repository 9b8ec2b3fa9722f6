// Connection: one frontend's socket on the control reactor (uds::Connection; this file is what
// vhost-user puts into it: the session, the message I/O, SET_OWNER as the handshake that ends
// the connect deadline). A reply still queued when the connection closes is dropped: a failed
// request the frontend expects no reply to closes it.
#pragma once

#include <string_view>

#include "base/log.hpp"
#include "uds/connection.hpp"
#include "vhost_user/message_reader.hpp"
#include "vhost_user/message_writer.hpp"
#include "vhost_user/session.hpp"

namespace vhostd::vhost_user {

struct SocketTraits {
    using Session = vhost_user::Session;
    using Reader = MessageReader;
    using Writer = MessageWriter;
    static constexpr log::Component kLog = log::Component::vhost_user;
    static constexpr std::string_view kPeer = "frontend";
    static constexpr std::string_view kNoHandshake = "no SET_OWNER";
    static constexpr bool kReplyBeforeClose = false;
    static constexpr std::string_view kListening = "listening for a vhost-user frontend";
    static constexpr std::string_view kSessionEnded = "queues stopped, memory released";
    static bool handshake_done(const Session& session) { return session.owned(); }
};

using ConnectionOptions = uds::ConnectionOptions;
using Connection = uds::Connection<SocketTraits>;

}  // namespace vhostd::vhost_user

extern template class vhostd::uds::Connection<vhostd::vhost_user::SocketTraits>;

// Connection: one peer's socket on the control reactor, for any transport built on the framed
// reader. Reads messages, hands them to the session one at a time (reading pauses while a
// request waits for the session), writes the replies without ever blocking, and closes on EOF,
// socket errors, framing violations and when the session asks. The member definitions are in
// connection_impl.hpp; each transport instantiates its own once.
//
// The transport's `Traits`:
//   using Session;   // handle(Message, Done(Response{optional<Message> reply; bool close}))
//   using Reader;    // uds::FramedReader<...>
//   using Writer;    // enqueue(Message), flush(fd), pending(), pending_bytes()
//   static constexpr log::Component kLog;
//   static constexpr std::string_view kPeer;         // "frontend", "client"
//   static constexpr std::string_view kNoHandshake;  // "no SET_OWNER", in the deadline's log
//   static bool handshake_done(const Session&);
//   // Replies already queued still go out when the connection closes (a failed handshake is
//   // answered) rather than being dropped.
//   static constexpr bool kReplyBeforeClose;
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::uds {

struct ConnectionOptions {
    // The peer must have completed the protocol's handshake (vhost-user: SET_OWNER; vfio-user:
    // VERSION) within this time of connecting, and a message that has begun to arrive must be
    // complete within it; else the connection is closed (a peer that holds the device without
    // using it). 0: no deadline. A peer past the handshake is never cut off for being idle:
    // QEMU connects when the VM starts and may wait for the guest driver as long as it likes.
    std::chrono::milliseconds handshake_timeout{10'000};
};

template <class Traits>
class Connection {
  public:
    using Session = typename Traits::Session;
    using Closed = std::move_only_function<void()>;
    using Options = ConnectionOptions;

    // Replies the peer has not read yet beyond which we stop reading its requests: a peer that
    // never reads cannot make us buffer without bound (one large reply may exceed it; reading
    // then waits until it has gone).
    static constexpr size_t kMaxUnsentBytes = 64 * 1024;

    // Starts watching `socket` (non-blocking, connected). `on_closed` runs once when the
    // connection ends by itself (EOF, error, violation), never from inside Session::handle();
    // the connection must outlive the session's request in progress.
    static Result<std::unique_ptr<Connection>> create(reactor::Reactor& reactor, UniqueFd socket,
                                                      Session& session, std::string name,
                                                      Closed on_closed, Options options = {});
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Closes the socket now (server shutdown); `on_closed` is not called. A reply still due
    // from the session is dropped.
    void close();
    [[nodiscard]] bool is_open() const { return socket_.valid(); }
    // The peer has hung up (its EOF may not have been read yet).
    [[nodiscard]] bool peer_gone() const;

  private:
    using Message = typename Traits::Reader::Message;
    using Response = typename Session::Response;

    Connection(reactor::Reactor& reactor, UniqueFd socket, Session& session, std::string name,
               Closed on_closed, Options options);
    // The deadline timer: cuts a handshake or a message that takes too long.
    void check_deadlines();
    void on_events(uint32_t events);
    // Reads and dispatches requests while allowed, flushes replies, re-arms the watch, and
    // closes if something asked for it.
    void pump();
    void on_response(Response response);
    void fail(const Error& error);
    void finish_close();
    [[nodiscard]] Result<void> update_watch();

    reactor::Reactor& reactor_;
    UniqueFd socket_;
    Session& session_;
    std::string name_;
    Closed on_closed_;
    typename Traits::Reader reader_;
    typename Traits::Writer writer_;
    Options options_;
    std::chrono::steady_clock::time_point connected_at_;
    // When the message now being received began to arrive; nullopt between messages.
    std::optional<std::chrono::steady_clock::time_point> partial_since_;
    std::optional<reactor::Reactor::TimerId> deadline_timer_;
    std::optional<reactor::Reactor::FdId> watch_;
    uint32_t watched_events_ = 0;
    bool waiting_ = false;    // a request is in the session
    bool in_handle_ = false;  // inside Session::handle(): responses are picked up by pump()
    bool closing_ = false;    // close at the next safe point
};

}  // namespace vhostd::uds

// Connection: one client's socket on the control reactor. Reads commands, hands them to the
// session one at a time (reading pauses while a command waits for the device), writes the
// replies without ever blocking, and closes on EOF, socket errors, framing violations, and
// when the session asks (after a failed VERSION, for instance).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "reactor/reactor.hpp"
#include "vfio_user/message_reader.hpp"
#include "vfio_user/message_writer.hpp"
#include "vfio_user/session.hpp"

namespace vhostd::vfio_user {

struct ConnectionOptions {
    // The client must have completed VERSION within this time of connecting, and a message
    // that has begun to arrive must be complete within it; else the connection is closed (a
    // client that holds the device without using it). 0: no deadline. A negotiated client is
    // never cut off for being idle (--handshake-timeout-ms, as for vhost-user).
    std::chrono::milliseconds handshake_timeout{10'000};
};

class Connection {
  public:
    using Closed = std::move_only_function<void()>;
    using Options = ConnectionOptions;

    // Replies the client has not read yet beyond which we stop reading its commands: a client
    // that never reads cannot make us buffer without bound (one REGION_READ reply may exceed
    // it; reading then waits until it has gone).
    static constexpr size_t kMaxUnsentBytes = 64 * 1024;

    // Starts watching `socket` (non-blocking, connected). `on_closed` runs once when the
    // connection ends by itself (EOF, error, violation), never from inside Session::handle();
    // the connection must outlive the session's command in progress.
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
    // The client has hung up (its EOF may not have been read yet).
    [[nodiscard]] bool peer_gone() const;

  private:
    Connection(reactor::Reactor& reactor, UniqueFd socket, Session& session, std::string name,
               Closed on_closed, Options options);
    // The deadline timer: cuts a handshake or a message that takes too long.
    void check_deadlines();
    void on_events(uint32_t events);
    // Reads and dispatches commands while allowed, flushes replies, re-arms the watch, and
    // closes if something asked for it.
    void pump();
    void on_response(Session::Response response);
    void fail(const Error& error);
    void finish_close();
    [[nodiscard]] Result<void> update_watch();

    reactor::Reactor& reactor_;
    UniqueFd socket_;
    Session& session_;
    std::string name_;
    Closed on_closed_;
    MessageReader reader_;
    MessageWriter writer_;
    Options options_;
    std::chrono::steady_clock::time_point connected_at_;
    // When the message now being received began to arrive; nullopt between messages.
    std::optional<std::chrono::steady_clock::time_point> partial_since_;
    std::optional<reactor::Reactor::TimerId> deadline_timer_;
    std::optional<reactor::Reactor::FdId> watch_;
    uint32_t watched_events_ = 0;
    bool waiting_ = false;    // a command is in the session
    bool in_handle_ = false;  // inside Session::handle(): responses are picked up by pump()
    bool closing_ = false;    // close at the next safe point
};

}  // namespace vhostd::vfio_user

// Connection: one frontend's socket on the control reactor. Reads messages, hands them to the
// session one at a time (reading pauses while a request waits for queues to drain), writes the
// replies without ever blocking, and closes on EOF, socket errors and protocol violations.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "reactor/reactor.hpp"
#include "vhost_user/message_reader.hpp"
#include "vhost_user/message_writer.hpp"
#include "vhost_user/session.hpp"

namespace vhostd::vhost_user {

class Connection {
  public:
    using Closed = std::move_only_function<void()>;

    // Replies the frontend has not read yet beyond which we stop reading its requests: a
    // frontend that never reads cannot make us buffer without bound.
    static constexpr size_t kMaxUnsentBytes = 64 * 1024;

    // Starts watching `socket` (non-blocking, connected). `on_closed` runs once when the
    // connection ends by itself (EOF, error, violation), never from inside Session::handle();
    // the connection must outlive the session's request in progress.
    static Result<std::unique_ptr<Connection>> create(reactor::Reactor& reactor, UniqueFd socket,
                                                      Session& session, std::string name,
                                                      Closed on_closed);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Closes the socket now (server shutdown); `on_closed` is not called. A reply still due
    // from the session is dropped.
    void close();
    [[nodiscard]] bool is_open() const { return socket_.valid(); }
    // The frontend has hung up (its EOF may not have been read yet).
    [[nodiscard]] bool peer_gone() const;

  private:
    Connection(reactor::Reactor& reactor, UniqueFd socket, Session& session, std::string name,
               Closed on_closed);
    void on_events(uint32_t events);
    // Reads and dispatches requests while allowed, flushes replies, re-arms the watch, and
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
    std::optional<reactor::Reactor::FdId> watch_;
    uint32_t watched_events_ = 0;
    bool waiting_ = false;    // a request is in the session
    bool in_handle_ = false;  // inside Session::handle(): responses are picked up by pump()
    bool closing_ = false;    // close at the next safe point
};

}  // namespace vhostd::vhost_user

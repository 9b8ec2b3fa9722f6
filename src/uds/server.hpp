// Server: the listening unix socket of one device, for any transport on uds::Connection. Serves
// one peer at a time: a second concurrent connection is accepted and closed at once. When the
// peer goes away its session is disconnected (the transport's teardown: queues stopped, device
// reset, memory dropped) before the next connection is served. Lives on the control reactor.
// The member definitions are in server_impl.hpp; each transport instantiates its own once.
//
// Besides what uds::Connection needs, the transport's `Traits` give:
//   Session::disconnect(std::move_only_function<void()> done)
//   static constexpr std::string_view kListening;     // "listening for a vhost-user frontend"
//   static constexpr std::string_view kSessionEnded;  // "queues stopped, memory released"
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "base/unix_listener.hpp"
#include "reactor/reactor.hpp"
#include "uds/connection.hpp"

namespace vhostd::uds {

struct ServerOptions {
    std::string name;          // for log lines; the socket path if empty
    SocketFileOptions socket;  // group and mode of the socket file
    // ConnectionOptions::handshake_timeout.
    std::chrono::milliseconds handshake_timeout{10'000};
};

template <class Traits>
class Server {
  public:
    using Session = typename Traits::Session;
    using Options = ServerOptions;
    // Makes the session of a new connection; `name` is the connection's, for log lines.
    using MakeSession = std::move_only_function<std::unique_ptr<Session>(const std::string& name)>;

    // Prefer shutdown(): destroying a server with a peer connected skips the session's
    // teardown (callbacks that arrive later are ignored).
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // A peer is connected (and not being torn down).
    [[nodiscard]] bool connected() const { return state_ == State::connected; }
    [[nodiscard]] const std::string& socket_path() const { return path_; }
    [[nodiscard]] const std::string& name() const { return options_.name; }
    // The current peer's session (observers), or nullptr.
    [[nodiscard]] const Session* session() const { return session_.get(); }
    // Peers served so far (connections accepted and handed a session).
    [[nodiscard]] uint64_t connections() const { return connections_; }

    // Stops accepting, removes the socket file, closes the connection once its session has
    // been torn down, then calls `done` (at once if no peer is connected).
    void shutdown(std::move_only_function<void()> done);

  protected:
    // The transport's server derives from this one; it calls start() before the reactor
    // serves anything.
    Server(reactor::Reactor& reactor, std::string socket_path, Options options,
           MakeSession make_session);
    // Listens on the socket path with UnixListener's policy: a stale socket file is replaced, a
    // socket another process serves is refused (EADDRINUSE), any other file is left alone
    // (EEXIST). Call on the reactor's thread (or before it runs).
    [[nodiscard]] Result<void> start();
    // The current peer's session, for what the transport adds (nullptr if none).
    [[nodiscard]] Session* current_session() { return session_.get(); }

  private:
    enum class State : uint8_t { idle, connected, tearing_down, shut_down };

    [[nodiscard]] Result<void> watch_listener();
    void unwatch_listener();
    void close_listener();
    void accept_pending();
    void serve(UniqueFd socket);
    void begin_teardown();
    void finish_teardown();

    reactor::Reactor& reactor_;
    const std::string path_;
    Options options_;
    MakeSession make_session_;

    UnixListener listener_;
    std::optional<reactor::Reactor::FdId> listen_watch_;

    State state_ = State::idle;
    std::unique_ptr<Session> session_;
    std::unique_ptr<Connection<Traits>> connection_;
    std::vector<std::move_only_function<void()>> shutdown_done_;
    uint64_t connections_ = 0;

    // Posted cleanups hold a weak reference and do nothing once the server is gone.
    std::shared_ptr<Server*> self_;
};

}  // namespace vhostd::uds

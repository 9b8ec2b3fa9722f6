// Server: the listening unix socket of one vfio-user device. Serves one client at a time: a
// second concurrent connection is accepted and closed at once. When the client goes away its
// session resets the function and takes its memory away before the next connection is
// served, so every client starts from a fresh device with nothing of the previous one left.
// Lives on the control reactor.
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
#include "pci/function.hpp"
#include "reactor/reactor.hpp"
#include "vfio_user/connection.hpp"
#include "vfio_user/session.hpp"

namespace vhostd::vfio_user {

struct ServerOptions {
    std::string name;          // for log lines; the socket path if empty
    SocketFileOptions socket;  // group and mode of the socket file
    // ConnectionOptions::handshake_timeout.
    std::chrono::milliseconds handshake_timeout{10'000};
};

class Server {
  public:
    using Options = ServerOptions;

    // Listens on `socket_path` with UnixListener's policy: a stale socket file is replaced, a
    // socket another process serves is refused (EADDRINUSE), any other file is left alone
    // (EEXIST). Call on the reactor's thread (or before it runs); `function` must outlive the
    // server.
    static Result<std::unique_ptr<Server>> create(reactor::Reactor& reactor,
                                                  std::string socket_path, pci::Function& function,
                                                  Options options = {});
    // Prefer shutdown(): destroying a server with a client connected skips the function's
    // reset (callbacks that arrive later are ignored).
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // A client is connected (and not being torn down).
    [[nodiscard]] bool connected() const { return state_ == State::connected; }
    [[nodiscard]] const std::string& socket_path() const { return path_; }
    // The current client's session (observers), or nullptr.
    [[nodiscard]] const Session* session() const { return session_.get(); }
    // Clients served so far (connections accepted and handed a session).
    [[nodiscard]] uint64_t connections() const { return connections_; }

    // Stops accepting, removes the socket file, closes the connection once the function has
    // been reset, then calls `done` (at once if no client is connected).
    void shutdown(std::move_only_function<void()> done);

  private:
    enum class State : uint8_t { idle, connected, tearing_down, shut_down };

    Server(reactor::Reactor& reactor, std::string path, pci::Function& function, Options options);
    [[nodiscard]] Result<void> listen();
    [[nodiscard]] Result<void> watch_listener();
    void unwatch_listener();
    void close_listener();
    void accept_pending();
    void serve(UniqueFd socket);
    void begin_teardown();
    void finish_teardown();

    reactor::Reactor& reactor_;
    const std::string path_;
    pci::Function& function_;
    Options options_;

    UnixListener listener_;
    std::optional<reactor::Reactor::FdId> listen_watch_;

    State state_ = State::idle;
    std::unique_ptr<Session> session_;
    std::unique_ptr<Connection> connection_;
    std::vector<std::move_only_function<void()>> shutdown_done_;
    uint64_t connections_ = 0;

    // Posted cleanups hold a weak reference and do nothing once the server is gone.
    std::shared_ptr<Server*> self_;
};

}  // namespace vhostd::vfio_user

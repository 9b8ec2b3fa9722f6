// Server: the listening unix socket of one vhost-user controller. Serves one frontend at a
// time: a second concurrent connection is accepted and closed at once. When the frontend goes
// away its session stops every queue (draining), drops the guest memory and resets the device
// before the next connection is served. Lives on the control reactor.
#pragma once

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
#include "vhost_user/connection.hpp"
#include "vhost_user/session.hpp"
#include "virtio/device.hpp"
#include "virtio/queue_control.hpp"

namespace vhostd::vhost_user {

struct ServerOptions {
    std::string name;          // for log lines; the socket path if empty
    SocketFileOptions socket;  // group and mode of the socket file
    // Connection::Options::handshake_timeout.
    std::chrono::milliseconds handshake_timeout{10'000};
};

class Server {
  public:
    using Options = ServerOptions;

    // Listens on `socket_path` with UnixListener's policy: a stale socket file is replaced, a
    // socket another process serves is refused (EADDRINUSE), any other file is left alone
    // (EEXIST). Call on the reactor's thread (or before it runs); `device` and `queues` must
    // outlive the server.
    static Result<std::unique_ptr<Server>> create(reactor::Reactor& reactor,
                                                  std::string socket_path, virtio::Device& device,
                                                  virtio::QueueControl& queues,
                                                  Options options = {});
    // Prefer shutdown(): destroying a server with a connection open abandons its running
    // queues (QueueControl callbacks that arrive later are ignored).
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // A frontend is connected (and not being torn down).
    [[nodiscard]] bool connected() const { return state_ == State::connected; }
    [[nodiscard]] const std::string& socket_path() const { return path_; }
    // The current frontend's session (observers), or nullptr.
    [[nodiscard]] const Session* session() const { return session_.get(); }

    // The device broke ring `index` (the target learns it from the queue handler): GET_STATUS
    // reports DEVICE_NEEDS_RESET until the frontend resets the ring or the device.
    void queue_broken(uint16_t index);

    // The device's configuration changed: tells the connected frontend, if it can be told
    // (Session::notify_config_changed). ENOTCONN when no frontend is connected.
    [[nodiscard]] Result<void> notify_config_changed();

    // Stops accepting, removes the socket file, closes the connection once its queues have
    // stopped, then calls `done` (at once if no frontend is connected).
    void shutdown(std::move_only_function<void()> done);

  private:
    enum class State : uint8_t { idle, connected, tearing_down, shut_down };

    Server(reactor::Reactor& reactor, std::string path, virtio::Device& device,
           virtio::QueueControl& queues, Options options);
    [[nodiscard]] Result<void> listen();
    [[nodiscard]] Result<void> watch_listener();
    void unwatch_listener();
    void close_listener();
    void accept_pending();
    void serve(UniqueFd socket);
    void on_connection_closed();
    void begin_teardown();
    void finish_teardown();

    reactor::Reactor& reactor_;
    const std::string path_;
    virtio::Device& device_;
    virtio::QueueControl& queues_;
    Options options_;

    UnixListener listener_;
    std::optional<reactor::Reactor::FdId> listen_watch_;

    State state_ = State::idle;
    std::unique_ptr<Session> session_;
    std::unique_ptr<Connection> connection_;
    std::vector<std::move_only_function<void()>> shutdown_done_;
    uint64_t connections_ = 0;  // served so far, for log lines

    // Posted cleanups hold a weak reference and do nothing once the server is gone.
    std::shared_ptr<Server*> self_;
};

}  // namespace vhostd::vhost_user

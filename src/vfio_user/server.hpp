// Server: the listening unix socket of one vfio-user device (uds::Server: one client at a
// time, a second connection closed at once). When the client goes away its session resets the
// function and takes its memory away before the next connection is served, so every client
// starts from a fresh device with nothing of the previous one left. Lives on the control
// reactor.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "pci/function.hpp"
#include "reactor/reactor.hpp"
#include "uds/server.hpp"
#include "vfio_user/connection.hpp"
#include "vfio_user/session.hpp"

extern template class vhostd::uds::Server<vhostd::vfio_user::SocketTraits>;

namespace vhostd::vfio_user {

using ServerOptions = uds::ServerOptions;

class Server {
  public:
    using Options = ServerOptions;

    // Listens on `socket_path` (uds::Server::start's socket-file policy). Call on the reactor's
    // thread (or before it runs); `function` must outlive the server.
    static Result<std::unique_ptr<Server>> create(reactor::Reactor& reactor,
                                                  std::string socket_path, pci::Function& function,
                                                  Options options = {});
    // Prefer shutdown(): destroying a server with a client connected skips the function's
    // reset (callbacks that arrive later are ignored).
    ~Server() = default;
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // A client is connected (and not being torn down).
    [[nodiscard]] bool connected() const { return server_.connected(); }
    [[nodiscard]] const std::string& socket_path() const { return server_.socket_path(); }
    // The current client's session (observers), or nullptr.
    [[nodiscard]] const Session* session() const { return server_.session(); }
    // Clients served so far (connections accepted and handed a session).
    [[nodiscard]] uint64_t connections() const { return server_.connections(); }

    // Stops accepting, removes the socket file, closes the connection once the function has
    // been reset, then calls `done` (at once if no client is connected).
    void shutdown(std::move_only_function<void()> done) { server_.shutdown(std::move(done)); }

  private:
    Server(reactor::Reactor& reactor, std::string path, pci::Function& function, Options options);

    uds::Server<SocketTraits> server_;
};

}  // namespace vhostd::vfio_user

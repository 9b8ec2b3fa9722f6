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

// connected(), socket_path(), session(), connections() and shutdown() are uds::Server's;
// shutdown closes the connection once the function has been reset.
class Server final : public uds::Server<SocketTraits> {
  public:
    // Listens on `socket_path` (uds::Server's socket-file policy). Call on the reactor's thread
    // (or before it runs); `function` must outlive the server. Destroying a server with a
    // client connected skips the function's reset: prefer shutdown().
    static Result<std::unique_ptr<Server>> create(reactor::Reactor& reactor,
                                                  std::string socket_path, pci::Function& function,
                                                  Options options = {});

  private:
    Server(reactor::Reactor& reactor, std::string path, pci::Function& function, Options options);
};

}  // namespace vhostd::vfio_user

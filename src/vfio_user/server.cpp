// Server: the vfio-user instance of uds::Server.
#include "vfio_user/server.hpp"

#include "uds/server_impl.hpp"

template class vhostd::uds::Server<vhostd::vfio_user::SocketTraits>;

namespace vhostd::vfio_user {

Result<std::unique_ptr<Server>> Server::create(reactor::Reactor& reactor, std::string socket_path,
                                               pci::Function& function, Options options) {
    std::unique_ptr<Server> server(
        new Server(reactor, std::move(socket_path), function, std::move(options)));
    VHOSTD_TRY(server->start());
    return server;
}

Server::Server(reactor::Reactor& reactor, std::string path, pci::Function& function,
               Options options)
    : uds::Server<SocketTraits>(
          reactor, std::move(path), std::move(options), [&function](const std::string& name) {
              return std::make_unique<Session>(function, Session::Options{name});
          }) {}

}  // namespace vhostd::vfio_user

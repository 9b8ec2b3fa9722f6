// Server: the vhost-user instance of uds::Server, and what only vhost-user asks of it.
#include "vhost_user/server.hpp"

#include "uds/server_impl.hpp"

template class vhostd::uds::Server<vhostd::vhost_user::SocketTraits>;

namespace vhostd::vhost_user {

Result<std::unique_ptr<Server>> Server::create(reactor::Reactor& reactor, std::string socket_path,
                                               virtio::Device& device, virtio::QueueControl& queues,
                                               Options options) {
    std::unique_ptr<Server> server(
        new Server(reactor, std::move(socket_path), device, queues, std::move(options)));
    VHOSTD_TRY(server->start());
    return server;
}

Server::Server(reactor::Reactor& reactor, std::string path, virtio::Device& device,
               virtio::QueueControl& queues, Options options)
    : uds::Server<SocketTraits>(reactor, std::move(path), std::move(options),
                                [&device, &queues](const std::string& name) {
                                    return std::make_unique<Session>(device, queues,
                                                                     Session::Options{name});
                                }) {}

void Server::queue_broken(uint16_t index) {
    if (Session* session = current_session()) {
        session->queue_broken(index);
    }
}

Result<void> Server::notify_config_changed() {
    Session* session = current_session();
    if (session == nullptr || !connected()) {
        return make_error(ENOTCONN, "no frontend connected");
    }
    return session->notify_config_changed();
}

}  // namespace vhostd::vhost_user

// Server: the listening unix socket of one vhost-user controller (uds::Server: one frontend at a
// time, a second connection closed at once). When the frontend goes away its session stops
// every queue (draining), drops the guest memory and resets the device before the next
// connection is served. Lives on the control reactor.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "reactor/reactor.hpp"
#include "uds/server.hpp"
#include "vhost_user/connection.hpp"
#include "vhost_user/session.hpp"
#include "virtio/device.hpp"
#include "virtio/queue_control.hpp"

extern template class vhostd::uds::Server<vhostd::vhost_user::SocketTraits>;

namespace vhostd::vhost_user {

using ServerOptions = uds::ServerOptions;

// connected(), socket_path(), session() and shutdown() are uds::Server's; shutdown closes the
// connection once its queues have stopped.
class Server final : public uds::Server<SocketTraits> {
  public:
    // Listens on `socket_path` (uds::Server's socket-file policy). Call on the reactor's thread
    // (or before it runs); `device` and `queues` must outlive the server. Destroying a server
    // with a connection open abandons its running queues (QueueControl callbacks that arrive
    // later are ignored): prefer shutdown().
    static Result<std::unique_ptr<Server>> create(reactor::Reactor& reactor,
                                                  std::string socket_path, virtio::Device& device,
                                                  virtio::QueueControl& queues,
                                                  Options options = {});

    // The device broke ring `index` (the target learns it from the queue handler): GET_STATUS
    // reports DEVICE_NEEDS_RESET until the frontend resets the ring or the device.
    void queue_broken(uint16_t index);

    // The device's configuration changed: tells the connected frontend, if it can be told
    // (Session::notify_config_changed). ENOTCONN when no frontend is connected.
    [[nodiscard]] Result<void> notify_config_changed();

  private:
    Server(reactor::Reactor& reactor, std::string path, virtio::Device& device,
           virtio::QueueControl& queues, Options options);
};

}  // namespace vhostd::vhost_user

// Server: the JSON-RPC 2.0 listener on a unix socket (SPDK's -r, default /var/tmp/vhostd.sock),
// on the control reactor. It accepts up to max_connections clients at once and turns further
// ones away with an error response; each client is a Connection.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "base/unix_listener.hpp"
#include "reactor/reactor.hpp"
#include "rpc/connection.hpp"
#include "rpc/method_table.hpp"

namespace vhostd::rpc {

constexpr const char* kDefaultRpcSocket = "/var/tmp/vhostd.sock";

class Server {
  public:
    struct Options {
        std::string path = kDefaultRpcSocket;
        size_t max_connections = 128;
        SocketFileOptions socket;  // group and mode of the socket file
    };

    // UnixListener's policy: refuses a path another live process is listening on, replaces a
    // stale socket file.
    static Result<std::unique_ptr<Server>> create(reactor::Reactor& control,
                                                  const MethodTable& methods, Options options);
    // Closes every client and removes the socket file.
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    [[nodiscard]] const std::string& path() const { return options_.path; }
    [[nodiscard]] size_t connections() const { return connections_.size(); }

  private:
    Server(reactor::Reactor& control, const MethodTable& methods, Options options);
    Result<void> listen();
    void accept_pending();
    void refuse(UniqueFd client);

    reactor::Reactor& control_;
    const MethodTable& methods_;
    Options options_;
    UnixListener listener_;
    std::optional<reactor::Reactor::FdId> watch_;
    std::unordered_map<Connection*, std::shared_ptr<Connection>> connections_;
};

}  // namespace vhostd::rpc

// MetricsServer: the opt-in HTTP endpoint (--metrics HOST:PORT) that serves GET /metrics in
// the Prometheus text format. It runs on threads of its own (cpp-httplib's listener and one
// worker); for each scrape it asks the control reactor for a snapshot by message and waits a
// bounded time, so neither the I/O reactors nor the control reactor ever wait for it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "base/error.hpp"
#include "metrics/snapshot.hpp"
#include "reactor/reactor.hpp"

namespace httplib {
class Server;
}

namespace vhostd::metrics {

struct ListenAddress {
    std::string host;   // IPv4/IPv6 literal or name; empty input means 127.0.0.1
    uint16_t port = 0;  // 0: any free port (tests)
};

// "HOST:PORT", "[V6]:PORT" or ":PORT" (loopback); fails with EINVAL on anything else.
Result<ListenAddress> parse_listen_address(std::string_view text);

class MetricsServer {
  public:
    // Runs on `control` to copy the counters out.
    using Collect = std::function<MetricsSnapshot()>;

    static Result<std::unique_ptr<MetricsServer>> start(const ListenAddress& address,
                                                        reactor::Reactor& control, Collect collect);
    ~MetricsServer();  // stops listening and joins the thread
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    [[nodiscard]] uint16_t port() const { return port_; }

  private:
    MetricsServer(reactor::Reactor& control, Collect collect);
    std::string scrape();

    reactor::Reactor& control_;
    std::shared_ptr<const Collect> collect_;  // shared with messages still queued at shutdown
    std::unique_ptr<httplib::Server> http_;
    std::thread thread_;
    uint16_t port_ = 0;
};

}  // namespace vhostd::metrics

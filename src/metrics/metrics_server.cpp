// MetricsServer: cpp-httplib on its own thread, snapshots by message to the control reactor.
#include "metrics/metrics_server.hpp"

#include <charconv>
#include <chrono>
#include <future>

#include <httplib.h>

#include "base/log.hpp"
#include "metrics/prometheus_text.hpp"

namespace vhostd::metrics {
namespace {

// A control reactor busy for longer than this (a long config replay) makes a scrape fail
// with 503 rather than pile up waiting threads.
constexpr auto kSnapshotTimeout = std::chrono::seconds(2);

bool is_loopback(const std::string& host) {
    return host == "127.0.0.1" || host == "::1" || host == "localhost" || host.starts_with("127.");
}

}  // namespace

Result<ListenAddress> parse_listen_address(std::string_view text) {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return make_error(EINVAL, "metrics address '{}': expected HOST:PORT", text);
    }
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
        return make_error(EINVAL, "metrics address '{}': bad port '{}'", text, port_text);
    }
    return ListenAddress{host.empty() ? std::string("127.0.0.1") : std::string(host),
                         static_cast<uint16_t>(port)};
}

MetricsServer::MetricsServer(reactor::Reactor& control, Collect collect)
    : control_(control),
      collect_(std::make_shared<const Collect>(std::move(collect))),
      http_(std::make_unique<httplib::Server>()) {}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const ListenAddress& address,
                                                            reactor::Reactor& control,
                                                            Collect collect) {
    std::unique_ptr<MetricsServer> server(new MetricsServer(control, std::move(collect)));
    httplib::Server& http = *server->http_;
    // One worker: scrapes are rare, and each one only formats a snapshot.
    http.new_task_queue = [] { return new httplib::ThreadPool(1); };
    http.set_read_timeout(5, 0);
    http.set_write_timeout(5, 0);
    // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second
    // process share the port silently instead of failing to start.
    http.set_socket_options([](socket_t sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    http.Get("/metrics", [raw = server.get()](const httplib::Request&, httplib::Response& res) {
        std::string body = raw->scrape();
        if (body.empty()) {
            res.status = 503;
            res.set_content("snapshot timed out\n", "text/plain");
            return;
        }
        res.set_content(body, kContentType);
    });
    if (address.port == 0) {
        const int port = http.bind_to_any_port(address.host);
        if (port < 0) {
            return make_error(EADDRNOTAVAIL, "metrics: cannot listen on {}", address.host);
        }
        server->port_ = static_cast<uint16_t>(port);
    } else {
        if (!http.bind_to_port(address.host, address.port)) {
            return make_error(EADDRINUSE, "metrics: cannot listen on {}:{}", address.host,
                              address.port);
        }
        server->port_ = address.port;
    }
    if (!is_loopback(address.host)) {
        LOG_WARN(app, "metrics endpoint on {} is reachable beyond this host", address.host);
    }
    server->thread_ = std::thread([&http] { http.listen_after_bind(); });
    // httplib's stop() does nothing before the listener thread has marked itself running, so
    // a server stopped right away would never return from accept(): wait for it here.
    for (int i = 0; i < 5000 && !http.is_running(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    LOG_INFO(app, "metrics on http://{}:{}/metrics", address.host, server->port_);
    return server;
}

MetricsServer::~MetricsServer() {
    http_->stop();
    if (thread_.joinable()) {
        thread_.join();
    }
}

std::string MetricsServer::scrape() {
    auto promise = std::make_shared<std::promise<MetricsSnapshot>>();
    std::future<MetricsSnapshot> future = promise->get_future();
    control_.post([promise, collect = collect_] { promise->set_value((*collect)()); });
    if (future.wait_for(kSnapshotTimeout) != std::future_status::ready) {
        LOG_RATELIMITED(app, warn, "metrics: the control reactor did not answer in time");
        return {};
    }
    return render_prometheus(future.get());
}

}  // namespace vhostd::metrics

// The --metrics endpoint end to end: vhostd serves Prometheus text on loopback with the
// expected metric families, and its counters follow the frontend's I/O.
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fixtures.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;

// A port that was free a moment ago (vhostd binds it right after).
uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

TEST(MetricsEndpoint, ServesPrometheusTextThatFollowsTheIo) {
    const uint16_t port = free_port();
    VhostdProcess vhostd{
        {.config = make_config(json::array({malloc_bdev("Malloc0", 16384)}),
                               json::array({blk_controller("vhost.0", "Malloc0")})),
         .args = {"--metrics", "127.0.0.1:" + std::to_string(port)},
         .sockets = {"vhost.0"}}};
    START_VHOSTD(vhostd);
    auto client = connect_client(client_options(vhostd.socket("vhost.0")));
    ASSERT_TRUE(client);
    const auto data = pattern(5, 4096);
    for (int i = 0; i < 12; ++i)
        ASSERT_EQ(client->write(i * 8, data).value(), kOk);

    httplib::Client http("127.0.0.1", port);
    auto res = http.Get("/metrics");
    ASSERT_TRUE(res) << vhostd.output();
    EXPECT_EQ(res->status, 200);
    EXPECT_NE(res->get_header_value("Content-Type").find("version=0.0.4"), std::string::npos);
    const std::string& text = res->body;
    for (const char* name :
         {"# TYPE vhostd_bdev_ops_total counter", "# TYPE vhostd_bdev_bytes_total counter",
          "# TYPE vhostd_bdev_latency_seconds histogram", "# TYPE vhostd_bdev_queue_depth gauge",
          "# TYPE vhostd_bdev_qos_limit gauge", "# TYPE vhostd_queue_requests_total counter",
          "# TYPE vhostd_queue_inflight gauge", "# TYPE vhostd_queue_busy_polls_total counter",
          "# TYPE vhostd_queue_idle_polls_total counter",
          "# TYPE vhostd_queue_interrupts_total counter",
          "# TYPE vhostd_reactor_iterations_total counter"}) {
        EXPECT_NE(text.find(name), std::string::npos) << name;
    }
    EXPECT_NE(text.find("vhostd_bdev_ops_total{bdev=\"Malloc0\",op=\"write\"} 12\n"),
              std::string::npos)
        << text.substr(0, 2000);
    EXPECT_NE(text.find("vhostd_bdev_bytes_total{bdev=\"Malloc0\",op=\"write\"} 49152\n"),
              std::string::npos);
    EXPECT_NE(text.find("vhostd_queue_requests_total{ctrlr=\"vhost.0\",queue=\"0\"} 12\n"),
              std::string::npos);
    EXPECT_NE(text.find("vhostd_bdev_latency_seconds_count{bdev=\"Malloc0\"} 12\n"),
              std::string::npos);
    EXPECT_EQ(http.Get("/")->status, 404);
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
}

TEST(MetricsEndpoint, BadAddressIsRefusedAtStart) {
    VhostdProcess bad{{.args = {"--metrics", "nonsense"}}};
    bad.launch();
    EXPECT_NE(bad.wait_exit(std::chrono::seconds(20)), 0);
    EXPECT_NE(bad.output().find("metrics"), std::string::npos) << bad.output();
}

}  // namespace
}  // namespace vhostd::testing

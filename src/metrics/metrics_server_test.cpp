// MetricsServer: listen addresses parse (loopback by default), GET /metrics is served from a
// snapshot taken on the control reactor, other paths are 404, a stalled control reactor
// yields 503 instead of a hang.
#include "metrics/metrics_server.hpp"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

namespace vhostd::metrics {
namespace {

TEST(ListenAddress, Parses) {
    auto a = parse_listen_address("127.0.0.1:9190");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 9190);
    a = parse_listen_address(":9191");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->host, "127.0.0.1");
    a = parse_listen_address("[::1]:80");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->host, "::1");
    EXPECT_FALSE(parse_listen_address("9190").has_value());
    EXPECT_FALSE(parse_listen_address("host:99999").has_value());
    EXPECT_FALSE(parse_listen_address("host:12ab").has_value());
}

class MetricsServerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        control_ = std::move(*reactor::Reactor::create(7, {reactor::PollMode::never, {}, -1}));
        thread_ = std::thread([this] { control_->run(); });
    }
    void TearDown() override {
        server_.reset();
        control_->request_stop();
        thread_.join();
    }

    std::unique_ptr<reactor::Reactor> control_;
    std::thread thread_;
    std::unique_ptr<MetricsServer> server_;
};

TEST_F(MetricsServerTest, ServesASnapshotTakenOnTheControlReactor) {
    std::atomic<bool> on_control{false};
    auto started = MetricsServer::start({"127.0.0.1", 0}, *control_, [&] {
        on_control = control_->on_owner_thread();
        MetricsSnapshot s;
        s.reactors.push_back({3, 1, 2, 0});
        return s;
    });
    ASSERT_TRUE(started.has_value()) << started.error().describe();
    server_ = std::move(*started);
    ASSERT_NE(server_->port(), 0);

    httplib::Client client("127.0.0.1", server_->port());
    auto res = client.Get("/metrics");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_NE(res->get_header_value("Content-Type").find("text/plain"), std::string::npos);
    EXPECT_NE(res->body.find("vhostd_reactor_iterations_total{reactor=\"3\",result=\"busy\"} 1"),
              std::string::npos);
    EXPECT_TRUE(on_control);
    auto missing = client.Get("/other");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
}

TEST_F(MetricsServerTest, BusyPortIsAnError) {
    auto first =
        MetricsServer::start({"127.0.0.1", 0}, *control_, [] { return MetricsSnapshot{}; });
    ASSERT_TRUE(first.has_value());
    server_ = std::move(*first);
    auto second = MetricsServer::start({"127.0.0.1", server_->port()}, *control_,
                                       [] { return MetricsSnapshot{}; });
    EXPECT_FALSE(second.has_value());
}

}  // namespace
}  // namespace vhostd::metrics

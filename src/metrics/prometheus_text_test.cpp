// Prometheus rendering: every family has HELP and TYPE, samples carry the right labels and
// values, the histogram is cumulative and ends with +Inf, label values are escaped.
#include "metrics/prometheus_text.hpp"

#include <gtest/gtest.h>

namespace vhostd::metrics {
namespace {

MetricsSnapshot sample_snapshot() {
    block::stats::ChannelStats channel;
    block::IoRequest read;
    read.type = block::IoType::read;
    read.length = 4096;
    channel.on_submit(0);
    channel.on_complete(read, 2000, 2000);  // 2 us
    channel.on_submit(0);
    channel.on_complete(read, 3'000'000, 3'000'000);  // 3 ms
    MetricsSnapshot s;
    BdevSample bdev{.name = "Malloc\"0", .stats = {}, .qos = {.rw_ios_per_sec = 5000}};
    bdev.stats.add(channel);
    s.bdevs.push_back(bdev);
    s.controllers.push_back({"vhost.0", {queue::QueueCounters{.index = 1, .requests = 7}}});
    s.reactors.push_back({0, 10, 20, 3});
    return s;
}

TEST(PrometheusText, RendersEveryFamily) {
    const std::string text = render_prometheus(sample_snapshot());
    for (const char* family :
         {"vhostd_bdev_ops_total", "vhostd_bdev_bytes_total", "vhostd_bdev_latency_seconds",
          "vhostd_bdev_queue_depth", "vhostd_bdev_qos_limit", "vhostd_queue_requests_total",
          "vhostd_queue_busy_polls_total", "vhostd_queue_interrupts_total",
          "vhostd_reactor_iterations_total"}) {
        EXPECT_NE(text.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
        EXPECT_NE(text.find(std::string("# HELP ") + family + " "), std::string::npos) << family;
    }
}

TEST(PrometheusText, BdevHealthAndRemoteBackends) {
    MetricsSnapshot s;
    s.bdevs.push_back({.name = "Malloc0", .stats = {}, .qos = {}});
    BdevSample remote{.name = "Nbd0", .stats = {}, .qos = {}};
    remote.backend_up = false;
    remote.backend_reconnects = 3;
    remote.backend_timeouts = 2;
    s.bdevs.push_back(remote);
    BdevSample failed{.name = "EE_Malloc1", .stats = {}, .qos = {}};
    failed.online = false;
    s.bdevs.push_back(failed);
    const std::string text = render_prometheus(s);
    EXPECT_NE(text.find("vhostd_bdev_online{bdev=\"Malloc0\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("vhostd_bdev_online{bdev=\"EE_Malloc1\"} 0\n"), std::string::npos);
    EXPECT_NE(text.find("vhostd_bdev_backend_up{bdev=\"Nbd0\"} 0\n"), std::string::npos);
    EXPECT_NE(text.find("vhostd_bdev_backend_reconnects_total{bdev=\"Nbd0\"} 3\n"),
              std::string::npos);
    EXPECT_NE(text.find("vhostd_bdev_backend_timeouts_total{bdev=\"Nbd0\"} 2\n"),
              std::string::npos);
    EXPECT_EQ(text.find("vhostd_bdev_backend_up{bdev=\"Malloc0\"}"), std::string::npos)
        << "local bdevs have no backend connection";
}

TEST(PrometheusText, SamplesCarryLabelsAndValues) {
    const std::string text = render_prometheus(sample_snapshot());
    EXPECT_NE(text.find("vhostd_bdev_ops_total{bdev=\"Malloc\\\"0\",op=\"read\"} 2\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("vhostd_bdev_bytes_total{bdev=\"Malloc\\\"0\",op=\"read\"} 8192\n"),
              std::string::npos);
    EXPECT_NE(
        text.find("vhostd_bdev_qos_limit{bdev=\"Malloc\\\"0\",limit=\"rw_ios_per_sec\"} 5000"),
        std::string::npos);
    EXPECT_NE(text.find("vhostd_queue_requests_total{ctrlr=\"vhost.0\",queue=\"1\"} 7\n"),
              std::string::npos);
    EXPECT_NE(text.find("vhostd_reactor_iterations_total{reactor=\"0\",result=\"idle\"} 20\n"),
              std::string::npos);
}

TEST(PrometheusText, HistogramIsCumulative) {
    const std::string text = render_prometheus(sample_snapshot());
    // 2 us is above the 1.024 us bound and below 4.096 us; 3 ms is below 4.19 ms.
    EXPECT_NE(text.find("le=\"1.024e-06\"} 0\n"), std::string::npos) << text;
    EXPECT_NE(text.find("le=\"4.096e-06\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("le=\"0.004194304\"} 2\n"), std::string::npos);
    EXPECT_NE(text.find("le=\"+Inf\"} 2\n"), std::string::npos);
    EXPECT_NE(text.find("vhostd_bdev_latency_seconds_count{bdev=\"Malloc\\\"0\"} 2\n"),
              std::string::npos);
}

}  // namespace
}  // namespace vhostd::metrics

// Statistics end to end: bdev_get_iostat counts exactly the I/O a frontend did (operations,
// bytes, latencies, histogram), vhost_get_controller_stats counts the queue's requests and
// poll loops, and interrupt coalescing set at runtime leaves every request completing.
#include <chrono>
#include <vector>

#include "fixtures.hpp"
#include "rpc_test_util.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;

class StatsTest : public ::testing::Test {
  protected:
    VhostdProcess vhostd{
        {.config = make_config(json::array({malloc_bdev("Malloc0", 16384)}),
                               json::array({blk_controller("vhost.0", "Malloc0")})),
         .sockets = {"vhost.0"}}};

    void TearDown() override { EXPECT_EQ(vhostd.stop(), 0) << vhostd.output(); }

    json call(const std::string& method, const json& params = nullptr) {
        RawRpc rpc(vhostd.rpc_socket());
        EXPECT_TRUE(rpc.connected());
        auto response = rpc.call(method, params);
        EXPECT_TRUE(response.has_value()) << method;
        return response.value_or(json{});
    }
};

TEST_F(StatsTest, IostatCountsWhatTheFrontendDid) {
    START_VHOSTD(vhostd);
    auto client = connect_client(client_options(vhostd.socket("vhost.0")));
    ASSERT_TRUE(client);
    const auto data = pattern(3, 4096);
    std::vector<std::byte> back(8192);
    for (int i = 0; i < 25; ++i)
        ASSERT_EQ(client->write(i * 8, data).value(), kOk);
    for (int i = 0; i < 10; ++i)
        ASSERT_EQ(client->read(i * 16, back).value(), kOk);
    ASSERT_EQ(client->flush().value(), kOk);
    ASSERT_EQ(client->discard(1024, 16).value(), kOk);
    ASSERT_EQ(client->read(1 << 30, back).value(), kIoErr);  // past the end: not counted

    const json r = call("bdev_get_iostat", {{"name", "Malloc0"}, {"include_histogram", true}});
    ASSERT_TRUE(r.contains("result")) << r.dump();
    const json& res = r["result"];
    EXPECT_EQ(res["tick_rate"], 1000000000);
    EXPECT_GT(res["ticks"].get<uint64_t>(), 0U);
    ASSERT_EQ(res["bdevs"].size(), 1U);
    const json& b = res["bdevs"][0];
    EXPECT_EQ(b["name"], "Malloc0");
    EXPECT_EQ(b["num_write_ops"], 25);
    EXPECT_EQ(b["bytes_written"], 25 * 4096);
    EXPECT_EQ(b["num_read_ops"], 10);
    EXPECT_EQ(b["bytes_read"], 10 * 8192);
    EXPECT_EQ(b["num_unmap_ops"], 1);
    EXPECT_EQ(b["bytes_unmapped"], 16 * 512);
    // A RAM disk has no volatile cache: the device answers FLUSH without the bdev.
    EXPECT_EQ(b["num_flush_ops"], 0);
    EXPECT_EQ(b["queue_depth"], 0);
    EXPECT_GT(b["read_latency_ticks"].get<uint64_t>(), 0U);
    EXPECT_LE(b["min_read_latency_ticks"].get<uint64_t>(),
              b["max_read_latency_ticks"].get<uint64_t>());
    EXPECT_GE(b["read_latency_ticks"].get<uint64_t>(),
              10 * b["min_read_latency_ticks"].get<uint64_t>());
    for (const char* field :
         {"bytes_copied", "num_copy_ops", "write_latency_ticks", "max_write_latency_ticks",
          "min_write_latency_ticks", "unmap_latency_ticks", "queue_depth_polling_period", "io_time",
          "weighted_io_time", "io_error"}) {
        EXPECT_TRUE(b.contains(field)) << field;
    }
    uint64_t in_histogram = 0;
    for (const json& bucket : b["latency_histogram"]["buckets"])
        in_histogram += bucket["count"].get<uint64_t>();
    EXPECT_EQ(in_histogram, 25U + 10U + 1U);

    // Without a name: every bdev, no histogram unless asked.
    const json all = call("bdev_get_iostat");
    ASSERT_EQ(all["result"]["bdevs"].size(), 1U);
    EXPECT_FALSE(all["result"]["bdevs"][0].contains("latency_histogram"));
    EXPECT_TRUE(call("bdev_get_iostat", {{"name", "Nope"}}).contains("error"));
    EXPECT_EQ(call("bdev_get_iostat", {{"per_channel", true}})["error"]["code"], -32602);
}

TEST_F(StatsTest, ControllerStatsCountRequestsAndPolls) {
    START_VHOSTD(vhostd);
    auto client = connect_client(client_options(vhostd.socket("vhost.0")));
    ASSERT_TRUE(client);
    std::vector<std::byte> back(4096);
    for (int i = 0; i < 40; ++i)
        ASSERT_EQ(client->read(i * 8, back).value(), kOk);
    const json r = call("vhost_get_controller_stats", {{"ctrlr", "vhost.0"}});
    ASSERT_TRUE(r.contains("result")) << r.dump();
    const json& c = r["result"][0];
    EXPECT_EQ(c["ctrlr"], "vhost.0");
    EXPECT_EQ(c["requests"], 40);
    EXPECT_EQ(c["completions"], 40);
    EXPECT_EQ(c["inflight"], 0);
    EXPECT_GT(c["busy_polls"].get<uint64_t>(), 0U);
    EXPECT_EQ(c["queues"][0]["requests"], 40);
    EXPECT_TRUE(call("vhost_get_controller_stats", {{"ctrlr", "nope"}}).contains("error"));
}

TEST_F(StatsTest, CoalescingAtRuntimeKeepsRequestsCompleting) {
    START_VHOSTD(vhostd);
    auto client = connect_client(client_options(vhostd.socket("vhost.0")));
    ASSERT_TRUE(client);
    const json set = call("vhost_controller_set_coalescing",
                          {{"ctrlr", "vhost.0"}, {"delay_base_us", 200}, {"iops_threshold", 100}});
    ASSERT_EQ(set["result"], true) << set.dump();
    const auto data = pattern(9, 4096);
    std::vector<std::byte> back(4096);
    for (int i = 0; i < 500; ++i) {
        ASSERT_EQ(client->write(i * 8, data).value(), kOk) << i;
        ASSERT_EQ(client->read(i * 8, back).value(), kOk) << i;
    }
    EXPECT_EQ(back, data);
    const json c = call("vhost_get_controller_stats")["result"][0];
    EXPECT_EQ(c["delay_base_us"], 200);
    EXPECT_EQ(c["iops_threshold"], 100);
    EXPECT_EQ(c["completions"], 1000);
    EXPECT_GT(c["interrupts"].get<uint64_t>(), 0U);
    // Listed and saved as SPDK does.
    const json listed = call("vhost_get_controllers", {{"name", "vhost.0"}});
    EXPECT_EQ(listed["result"][0]["delay_base_us"], 200);
    // Off again; SPDK's bounds are enforced.
    EXPECT_EQ(
        call("vhost_controller_set_coalescing",
             {{"ctrlr", "vhost.0"}, {"delay_base_us", 0}, {"iops_threshold", 60000}})["result"],
        true);
    EXPECT_EQ(
        call("vhost_controller_set_coalescing",
             {{"ctrlr", "vhost.0"}, {"delay_base_us", 10}, {"iops_threshold", 5}})["error"]["code"],
        -32602);
    EXPECT_TRUE(call("vhost_controller_set_coalescing",
                     {{"ctrlr", "nope"}, {"delay_base_us", 10}, {"iops_threshold", 1000}})
                    .contains("error"));
    ASSERT_EQ(client->read(0, back).value(), kOk);
}

}  // namespace
}  // namespace vhostd::testing

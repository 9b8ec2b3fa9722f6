// Memory hot-plug on running queues (issue 13 item 5): vhostd and the frontend library, a
// guest RAM of two regions, the second one (a "DIMM") removed and added again with
// REM_MEM_REG / ADD_MEM_REG while I/O runs.
//  - reads into the DIMM held in flight by a delay bdev when the DIMM is removed: the removal
//    waits for them, they complete with their data (vhostd would crash writing into an
//    unmapped region), and the queue never stopped;
//  - the DIMM removed and added 20 times while another thread verifies I/O: no error.
#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "fixtures.hpp"
#include "scsi_fixtures.hpp"  // rpc_call

namespace vhostd::testing {
namespace {

using nlohmann::json;
namespace fe = frontend;
namespace vu = vhost_user;

constexpr uint64_t kBlocks = 16384;  // 8 MiB of 512-byte blocks
constexpr uint64_t kDimmGpa = uint64_t{64} << 20;
constexpr uint64_t kDimmSize = uint64_t{16} << 20;

json delay_bdev(uint64_t latency_us) {
    return {{"method", "bdev_delay_create"},
            {"params",
             {{"base_bdev_name", "Malloc0"},
              {"name", "Delay0"},
              {"avg_read_latency", latency_us},
              {"p99_read_latency", latency_us},
              {"avg_write_latency", latency_us},
              {"p99_write_latency", latency_us}}}};
}

fe::BlkClient::Options hotplug_options(const std::string& socket) {
    auto o = client_options(socket, 1);
    o.ram.regions = {{0, uint64_t{32} << 20}, {kDimmGpa, kDimmSize}};
    o.memory_mode = fe::BlkClient::MemoryMode::add_mem_reg;
    return o;
}

// REM_MEM_REG / ADD_MEM_REG of the client's second region, as QEMU sends them for a pc-dimm.
Result<void> remove_dimm(fe::BlkClient& client) {
    const vu::SingleMemoryRegion region{0, client.ram().regions()[1].wire()};
    return client.connection().request_with(vu::Request::rem_mem_reg, region);
}
Result<void> add_dimm(fe::BlkClient& client) {
    const auto& r = client.ram().regions()[1];
    const vu::SingleMemoryRegion region{0, r.wire()};
    const int fd = r.fd;
    return client.connection().request_with(vu::Request::add_mem_reg, region, {&fd, 1});
}

// Waits for `count` completions on `queue`; their statuses.
std::vector<uint8_t> collect(fe::BlkQueue& queue, size_t count) {
    std::vector<uint8_t> statuses;
    for (int round = 0; round < 200 && statuses.size() < count; ++round) {
        fe::BlkCompletion done[16];
        auto n = queue.poll(done);
        EXPECT_TRUE(n.has_value());
        if (!n) {
            break;
        }
        for (size_t i = 0; i < *n; ++i) {
            statuses.push_back(done[i].status);
        }
        if (statuses.size() < count) {
            (void)queue.wait(std::chrono::milliseconds(100));
        }
    }
    return statuses;
}

// Waits (bounded) until the controller has `count` requests in flight.
bool wait_inflight(const VhostdProcess& vhostd, uint64_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        const json r =
            rpc_call(vhostd.rpc_socket(), "vhost_get_controller_stats", {{"ctrlr", "vhost.0"}});
        if (r.contains("result") && r["result"].is_array() && !r["result"].empty() &&
            r["result"][0]["inflight"].get<uint64_t>() >= count) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
}

class HeldRequestsTest : public ::testing::Test {
  protected:
    VhostdProcess vhostd{
        {.config = make_config(json::array({malloc_bdev("Malloc0", kBlocks), delay_bdev(200000)}),
                               json::array({blk_controller("vhost.0", "Delay0")})),
         .sockets = {"vhost.0"}}};

    void TearDown() override { EXPECT_EQ(vhostd.stop(), 0) << vhostd.output(); }
};

TEST_F(HeldRequestsTest, RemovalWaitsForReadsIntoTheRegion) {
    START_VHOSTD(vhostd);
    auto client = connect_client(hotplug_options(vhostd.socket("vhost.0")));
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->has_protocol_feature(vu::protocol_feature::kConfigureMemSlots));
    const auto data = pattern(5, 64 * 1024);
    ASSERT_EQ(client->write(0, data).value(), kOk);

    // Eight reads into the DIMM, each held 200 ms by the delay bdev.
    constexpr size_t kReads = 8;
    auto dimm = client->ram().view(kDimmGpa, kReads * 8192).value();
    std::memset(dimm.host, 0, dimm.size);
    fe::BlkQueue& queue = client->queue(0);
    for (size_t i = 0; i < kReads; ++i) {
        const fe::DataSegment segment{kDimmGpa + i * 8192, 8192};
        ASSERT_TRUE(queue.submit_read(i, i * 16, {&segment, 1}));
    }
    queue.kick();
    ASSERT_TRUE(wait_inflight(vhostd, kReads)) << vhostd.output();
    // The reply comes only once no request points into the region any more.
    ASSERT_TRUE(remove_dimm(*client).has_value());
    const auto statuses = collect(queue, kReads);
    ASSERT_EQ(statuses.size(), kReads);
    for (uint8_t s : statuses) {
        EXPECT_EQ(s, kOk);
    }
    // The data landed in the region before it went.
    for (size_t i = 0; i < kReads; ++i) {
        EXPECT_EQ(std::memcmp(dimm.host + i * 8192, data.data() + i * 8192, 8192), 0) << i;
    }

    // Back again: reads into it work.
    ASSERT_TRUE(add_dimm(*client).has_value());
    std::memset(dimm.host, 0, dimm.size);
    const fe::DataSegment segment{kDimmGpa, 8192};
    auto done =
        client->execute(0, static_cast<uint32_t>(fe::blk::RequestType::in), 0, {&segment, 1});
    ASSERT_TRUE(done.has_value()) << done.error().describe();
    EXPECT_EQ(done->status, kOk);
    EXPECT_EQ(std::memcmp(dimm.host, data.data(), 8192), 0);
}

class HotplugUnderLoadTest : public ::testing::Test {
  protected:
    VhostdProcess vhostd{
        {.config = make_config(json::array({malloc_bdev("Malloc0", kBlocks)}),
                               json::array({blk_controller("vhost.0", "Malloc0")})),
         .sockets = {"vhost.0"}}};

    void TearDown() override { EXPECT_EQ(vhostd.stop(), 0) << vhostd.output(); }
};

TEST_F(HotplugUnderLoadTest, RegionsComeAndGoWhileIoVerifies) {
    START_VHOSTD(vhostd);
    auto client = connect_client(hotplug_options(vhostd.socket("vhost.0")));
    ASSERT_TRUE(client);
    // The verifier's buffers are in the first region (the client's bounce buffer).
    std::atomic<bool> stop{false};
    std::atomic<int> errors{0};
    std::atomic<int> rounds{0};
    std::thread verifier([&] {
        for (uint32_t i = 0; !stop.load(); ++i) {
            const auto data = pattern(i, 16 * 1024);
            const uint64_t sector = (i % 64) * 32;
            std::vector<std::byte> back(data.size());
            auto w = client->write(sector, data);
            auto r = client->read(sector, back);
            if (!w || *w != kOk || !r || *r != kOk || back != data) {
                ++errors;
            }
            ++rounds;
        }
    });
    for (int cycle = 0; cycle < 20; ++cycle) {
        auto removed = remove_dimm(*client);
        EXPECT_TRUE(removed.has_value()) << removed.error().describe();
        auto added = add_dimm(*client);
        EXPECT_TRUE(added.has_value()) << added.error().describe();
    }
    // At least some I/O ran across the changes (no timing asserted: it may be little).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (rounds.load() < 10 && errors.load() == 0 &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop = true;
    verifier.join();
    EXPECT_EQ(errors.load(), 0);
}

}  // namespace
}  // namespace vhostd::testing

// Restarting vhostd under a connected frontend (issue 13, inflight tracking and reconnect):
// vhostd killed (SIGKILL, and SIGTERM) and started again on the same socket and config loses
// no request and completes none twice, split and packed, blk and scsi.
//  - a kill loop under vhost-bench --verify --reconnect on a uring file bdev (per-block version
//    stamps catch a replayed stale write, the drain a lost request, the driver ring a
//    duplicated completion);
//  - requests held in flight by a delay bdev when vhostd dies, resubmitted after the restart
//    and completed exactly once, with their data on disk (blk through BlkClient, scsi through
//    ScsiClient: QEMU 7.2 cannot reconnect vhost-user-scsi).
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_process.hpp"
#include "fixtures.hpp"
#include "scsi_fixtures.hpp"

extern char** environ;

namespace vhostd::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint64_t kBlocks = 16384;  // 8 MiB of 512-byte blocks

// A disk image file that outlives every vhostd of a test.
class DiskImage {
  public:
    DiskImage() {
        char tmpl[] = "/tmp/vhostd-reconnect-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        path_ = dir_ + "/disk.img";
        { std::ofstream(path_, std::ios::binary); }
        fs::resize_file(path_, kBlocks * 512);
    }
    ~DiskImage() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] const std::string& dir() const { return dir_; }

  private:
    std::string dir_;
    std::string path_;
};

json uring_bdev(const std::string& file) {
    return {{"method", "bdev_uring_create"}, {"params", {{"name", "Uring0"}, {"filename", file}}}};
}

// Holds every request for `latency_us` (SPDK's bdev_delay), so some are in flight at a kill.
json delay_bdev(uint64_t latency_us) {
    return {{"method", "bdev_delay_create"},
            {"params",
             {{"base_bdev_name", "Uring0"},
              {"name", "Delay0"},
              {"avg_read_latency", latency_us},
              {"p99_read_latency", latency_us},
              {"avg_write_latency", latency_us},
              {"p99_write_latency", latency_us}}}};
}

// The controller's counters from a running vhostd; null while its RPC socket is not up.
json controller_stats(const VhostdProcess& vhostd, const std::string& ctrlr) {
    const json r = rpc_call(vhostd.rpc_socket(), "vhost_get_controller_stats", {{"ctrlr", ctrlr}});
    if (!r.contains("result") || !r["result"].is_array() || r["result"].empty()) {
        return nullptr;
    }
    return r["result"][0];
}

// Waits (bounded) until this vhostd's controller counts `field` >= `at_least` (in total, or
// on each of its first `queues` queues).
bool wait_for_counter(const VhostdProcess& vhostd, const std::string& ctrlr,
                      const std::string& field, uint64_t at_least, size_t queues = 0,
                      milliseconds timeout = seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        const json stats = controller_stats(vhostd, ctrlr);
        bool reached = !stats.is_null();
        if (reached && queues == 0) {
            reached = stats[field].get<uint64_t>() >= at_least;
        }
        for (size_t q = 0; reached && q < queues; ++q) {
            reached = stats["queues"][q][field].get<uint64_t>() >= at_least;
        }
        if (reached) {
            return true;
        }
        std::this_thread::sleep_for(milliseconds(5));
    }
    return false;
}

struct Layout {
    const char* name;
    bool packed;
};

class Reconnect : public ::testing::TestWithParam<Layout> {};

INSTANTIATE_TEST_SUITE_P(Rings, Reconnect,
                         ::testing::Values(Layout{"split", false}, Layout{"packed", true}),
                         [](const auto& p) { return std::string(p.param.name); });

// How many times vhostd dies in the loop (VHOSTD_RECONNECT_KILLS overrides, for soak runs).
int kill_count() {
    const char* env = std::getenv("VHOSTD_RECONNECT_KILLS");
    return env != nullptr ? std::max(1, std::atoi(env)) : 50;
}

TEST_P(Reconnect, KillLoopUnderVerifyLoadLosesAndRepeatsNothing) {
    DiskImage disk;
    json controller = blk_controller("vhost.0", "Uring0");
    controller["params"]["packed_ring"] = GetParam().packed;
    VhostdProcess vhostd(
        {.config = make_config(json::array({uring_bdev(disk.path())}), json::array({controller})),
         .sockets = {"vhost.0"}});
    START_VHOSTD(vhostd);
    // Random reads and writes over 2 MiB (many rewrites of each block), two queues.
    std::vector<std::string> args = {"--socket",
                                     vhostd.socket("vhost.0"),
                                     "--reconnect",
                                     "--queues",
                                     "2",
                                     "--qsize",
                                     GetParam().packed ? "96" : "64",
                                     "--iodepth",
                                     "16",
                                     "--rw",
                                     "randrw",
                                     "--bs",
                                     "4k",
                                     "--size",
                                     "2M",
                                     "--verify",
                                     "--time",
                                     "600",
                                     "--drain-timeout",
                                     "20"};
    if (GetParam().packed) {
        args.push_back("--packed");
    }
    BenchProcess bench(disk.dir(), args);
    ASSERT_TRUE(bench.started());
    const int kills = kill_count();
    for (int cycle = 0; cycle < kills; ++cycle) {
        SCOPED_TRACE(cycle);
        // This vhostd (fresh counters) has served the reconnected frontend for a while (a
        // different while each cycle, so deaths fall at different points of the I/O)...
        const uint64_t served = 25 + (uint64_t{static_cast<uint32_t>(cycle)} * 137) % 200;
        ASSERT_TRUE(wait_for_counter(vhostd, "vhost.0", "completions", served, 2))
            << "stats: "
            << controller_stats(vhostd, "vhost.0").dump()
            // The bdev's queue_depth: requests below the controller (in io_uring or the kernel).
            << "\nbdev: "
            << rpc_call(vhostd.rpc_socket(), "bdev_get_iostat", {{"name", "Uring0"}}).dump()
            << "\nvhostd:\n"
            << vhostd.output() << "\nbench:\n"
            << bench.output();
        // ...and dies: mostly SIGKILL (a crash at an arbitrary instruction), every fifth time
        // SIGTERM (a restart: the queues drain first).
        if (cycle % 5 == 4) {
            EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
        } else {
            EXPECT_EQ(vhostd.kill_hard(), 128 + SIGKILL);
        }
        vhostd.launch();  // same socket, same config
    }
    ASSERT_TRUE(wait_for_counter(vhostd, "vhost.0", "completions", 100, 2)) << bench.output();
    const int exit_code = bench.finish();
    const json result = bench.result();
    ASSERT_FALSE(result.is_discarded()) << bench.output();
    EXPECT_EQ(exit_code, 0) << bench.output();
    // One reconnect per kill, unless a kill lands while the bench is still finishing its
    // handshake (after both queues started): then the retry that follows serves both deaths.
    EXPECT_LE(result["reconnects"].get<int>(), kills) << bench.output();
    EXPECT_GE(result["reconnects"].get<int>(), kills * 9 / 10) << bench.output();
    EXPECT_EQ(result["errors"], 0) << bench.output();
    EXPECT_EQ(result["lost"], 0) << bench.output();
    EXPECT_EQ(result["failure"], "") << bench.output();
    EXPECT_EQ(result["verify"]["errors"], 0) << bench.output();
    EXPECT_GT(result["verify"]["checked"].get<uint64_t>(), 0U) << bench.output();
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
}

TEST_P(Reconnect, BlkRequestsInFlightAtAKillCompleteOnceAfterTheRestart) {
    DiskImage disk;
    json controller = blk_controller("vhost.0", "Delay0");
    controller["params"]["packed_ring"] = GetParam().packed;
    VhostdProcess vhostd(
        {.config = make_config(json::array({uring_bdev(disk.path()), delay_bdev(300'000)}),
                               json::array({controller})),
         .sockets = {"vhost.0"}});
    START_VHOSTD(vhostd);
    auto options = client_options(vhostd.socket("vhost.0"));
    options.packed = GetParam().packed;
    options.inflight = true;
    options.queue_size = GetParam().packed ? 30 : 32;
    options.connection.connect_timeout = seconds(30);
    auto client = connect_client(options);
    ASSERT_TRUE(client);
    ASSERT_EQ(client->packed(), GetParam().packed);
    frontend::BlkQueue& q = client->queue(0);

    // Eight writes of distinct data, held by the delay bdev.
    constexpr int kWrites = 8;
    constexpr uint32_t kLen = 4096;
    std::map<uint64_t, std::vector<std::byte>> written;
    for (int i = 0; i < kWrites; ++i) {
        auto buffer = client->ram().alloc(kLen, 4096);
        ASSERT_TRUE(buffer);
        written[i] = pattern(1000 + i, kLen);
        std::memcpy(buffer->host, written[i].data(), kLen);
        const frontend::DataSegment seg{buffer->gpa, kLen};
        ASSERT_TRUE(q.submit_write(i, static_cast<uint64_t>(i) * 64, {&seg, 1}));
    }
    q.kick();
    ASSERT_TRUE(wait_for_counter(vhostd, "vhost.0", "inflight", kWrites)) << vhostd.output();
    EXPECT_EQ(vhostd.kill_hard(), 128 + SIGKILL);

    vhostd.launch();
    ASSERT_TRUE(client->reconnect()) << vhostd.output();
    // Each write completes once (a second completion of a tag would be a used element for
    // a head or buffer no longer in flight: the ring refuses it).
    std::map<uint64_t, int> completions;
    const auto deadline = std::chrono::steady_clock::now() + seconds(30);
    while (completions.size() < kWrites && std::chrono::steady_clock::now() < deadline) {
        std::array<frontend::BlkCompletion, 16> done;
        const auto n = q.poll(done);
        ASSERT_TRUE(n.has_value()) << n.error().describe();
        for (size_t i = 0; i < *n; ++i) {
            EXPECT_EQ(done[i].status, kOk);
            ++completions[done[i].tag];
        }
        if (*n == 0) {
            (void)q.wait(milliseconds(500));
        }
    }
    ASSERT_EQ(completions.size(), static_cast<size_t>(kWrites));
    for (const auto& [tag, count] : completions) {
        EXPECT_EQ(count, 1) << tag;
    }
    EXPECT_EQ(q.in_flight(), 0);
    // The data is on disk, through the restarted vhostd.
    for (const auto& [i, data] : written) {
        std::vector<std::byte> back(kLen);
        EXPECT_EQ(client->read(i * 64, back), kOk);
        EXPECT_EQ(back, data) << "write " << i;
    }
    // A clean stop drains: the next vhostd finds nothing to resubmit.
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
    vhostd.launch();
    ASSERT_TRUE(client->reconnect()) << vhostd.output();
    std::vector<std::byte> back(kLen);
    EXPECT_EQ(client->read(0, back), kOk);
    EXPECT_EQ(back, written[0]);
    EXPECT_EQ(controller_stats(vhostd, "vhost.0")["completions"], 1);
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
}

TEST_P(Reconnect, ScsiCommandsInFlightAtAKillCompleteOnceAfterTheRestart) {
    DiskImage disk;
    json controller = scsi_controller("scsi0");
    controller["params"]["packed_ring"] = GetParam().packed;
    VhostdProcess vhostd(
        {.config = make_scsi_config(json::array({uring_bdev(disk.path()), delay_bdev(300'000)}),
                                    json::array({controller, scsi_target("scsi0", 0, "Delay0")})),
         .sockets = {"scsi0"}});
    START_VHOSTD(vhostd);
    frontend::ScsiClient::Options options;
    options.socket_path = vhostd.socket("scsi0");
    options.packed = GetParam().packed;
    options.inflight = true;
    options.queue_size = GetParam().packed ? 24 : 32;
    options.connection.connect_timeout = seconds(30);
    options.io_timeout = seconds(30);
    auto connected = frontend::ScsiClient::connect(options);
    ASSERT_TRUE(connected) << connected.error().describe();
    frontend::ScsiClient& client = **connected;
    ASSERT_EQ(client.has_feature(virtio::feature::kRingPacked), GetParam().packed);
    ASSERT_TRUE(clear_unit_attentions(client, 0));

    constexpr int kWrites = 6;
    constexpr uint32_t kBlocksPerWrite = 8;  // 4 KiB
    std::vector<uint16_t> handles;
    std::vector<std::vector<std::byte>> data;
    for (int i = 0; i < kWrites; ++i) {
        data.push_back(pattern(2000 + i, kBlocksPerWrite * 512));
        frontend::ScsiCommand write{
            .cdb = cdb_rw16(true, static_cast<uint64_t>(i) * 64, kBlocksPerWrite),
            .data_out = data.back(),
            .tag = static_cast<uint64_t>(i + 1)};
        auto handle = client.submit(write);
        ASSERT_TRUE(handle) << handle.error().describe();
        handles.push_back(*handle);
    }
    ASSERT_TRUE(wait_for_counter(vhostd, "scsi0", "inflight", kWrites)) << vhostd.output();
    EXPECT_EQ(vhostd.kill_hard(), 128 + SIGKILL);

    vhostd.launch();
    ASSERT_TRUE(client.reconnect()) << vhostd.output();
    // Each command completes once. The restarted target's LUN is new: the first command it
    // sees reports POWER ON (a unit attention), which an initiator answers by retrying.
    int unit_attentions = 0;
    for (int i = 0; i < kWrites; ++i) {
        auto result = client.wait(handles[i]);
        ASSERT_TRUE(result) << result.error().describe();
        EXPECT_EQ(result->response, 0);
        if (result->status == kCheckCondition && result->sense_key() == 6) {
            ++unit_attentions;
            frontend::ScsiCommand again{
                .cdb = cdb_rw16(true, static_cast<uint64_t>(i) * 64, kBlocksPerWrite),
                .data_out = data[i]};
            result = client.execute(again);
            ASSERT_TRUE(result) << result.error().describe();
        }
        EXPECT_EQ(result->status, kGood) << "write " << i;
    }
    EXPECT_LE(unit_attentions, 1);
    for (int i = 0; i < kWrites; ++i) {
        frontend::ScsiCommand read{
            .cdb = cdb_rw16(false, static_cast<uint64_t>(i) * 64, kBlocksPerWrite),
            .data_in_length = kBlocksPerWrite * 512};
        auto result = client.execute(read);
        ASSERT_TRUE(result) << result.error().describe();
        EXPECT_EQ(result->status, kGood);
        EXPECT_EQ(result->data_in, data[i]) << "write " << i;
    }
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
}

}  // namespace
}  // namespace vhostd::testing

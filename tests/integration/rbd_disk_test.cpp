// An RBD image end to end: vhostd serves a vhost-user-blk controller over an RBD bdev on a
// single-node Ceph cluster started by the test (support/ceph_cluster.hpp), configured as SPDK
// configures it (a registered cluster, then the bdev). Through the frontend library: data
// written and read back, flush/discard/zeroes, a resize by another client arriving as
// CONFIG_CHANGE, save_config's clusters-before-bdevs round trip, an OSD stalled with SIGSTOP
// (IOERR within the timeout, recovery after SIGCONT; the controller and the bdev can still be
// deleted), an OSD killed with SIGKILL and restarted under writes (nothing acknowledged is
// lost), and an unreachable cluster (a clear RPC error while RPC stays responsive).
#include <atomic>
#include <fstream>
#include <future>
#include <thread>

#include "fixtures.hpp"
#include "rpc_test_util.hpp"
#include "support/ceph_cluster.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace vu = vhost_user;

constexpr uint64_t kSectorsPerMiB = (1 << 20) / 512;

// librados' timeouts (the cluster's io_timeout_ms) are those of the bdevs on it: a request
// the cluster does not answer then fails at the bdev's timeout.
json register_cluster(const CephCluster& cluster, uint32_t timeout_ms) {
    return {{"method", "bdev_rbd_register_cluster"},
            {"params",
             {{"name", "ceph0"}, {"config_file", cluster.conf()}, {"io_timeout_ms", timeout_ms}}}};
}

json rbd_bdev(const std::string& name, const std::string& image, uint32_t timeout_ms) {
    return {{"method", "bdev_rbd_create"},
            {"params",
             {{"name", name},
              {"cluster_name", "ceph0"},
              {"pool_name", "rbd"},
              {"rbd_name", image},
              {"block_size", 512},
              {"io_timeout_ms", timeout_ms}}}};
}

class RbdDiskTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!CephCluster::available()) {
            GTEST_SKIP() << "needs ceph-mon, ceph-osd and rbd (scripts/install-deps.sh --test)";
        }
    }
    void start_cluster(bool bluestore = false) {
        cluster_ = std::make_unique<CephCluster>(bluestore);
        ASSERT_TRUE(cluster_->start()) << cluster_->output();
        ASSERT_TRUE(cluster_->create_image("disk", 16)) << cluster_->output();
    }
    json rpc(const std::string& method, const json& params) {
        RawRpc client(vhostd_->rpc_socket());
        auto response = client.call(method, params);
        return response ? *response : json{{"error", "no response"}};
    }
    void start_vhostd(uint32_t timeout_ms, json config = nullptr) {
        if (config.is_null()) {
            config = make_config(json::array({register_cluster(*cluster_, timeout_ms),
                                              rbd_bdev("Rbd0", "disk", timeout_ms)}),
                                 json::array({blk_controller("vhost.0", "Rbd0")}));
        }
        vhostd_ = std::make_unique<VhostdProcess>(
            VhostdProcess::Options{.config = std::move(config), .sockets = {"vhost.0"}});
        ASSERT_TRUE(vhostd_->start()) << vhostd_->output();
        auto options = client_options(vhostd_->socket("vhost.0"));
        options.protocol_features |= virtio::bit(vu::protocol_feature::kBackendReq);
        options.io_timeout = 60s;  // longer than any RBD timeout here: the answer is vhostd's
        client_ = connect_client(options);
        ASSERT_TRUE(client_);
    }
    void TearDown() override {
        if (cluster_ && frozen_) {
            cluster_->thaw_osd();
        }
        client_.reset();
        if (vhostd_) {
            EXPECT_EQ(vhostd_->stop(60s), 0);
            if (HasFailure()) {
                std::ofstream("/tmp/rbd-debug-vhostd.log") << vhostd_->output();
            }
        }
    }
    json backend() {
        json listed = rpc("bdev_get_bdevs", {{"name", "Rbd0"}});
        return listed["result"][0]["vhostd_backend"]["rbd"];
    }

    std::unique_ptr<CephCluster> cluster_;
    std::unique_ptr<VhostdProcess> vhostd_;
    std::unique_ptr<frontend::BlkClient> client_;
    bool frozen_ = false;
};

TEST_F(RbdDiskTest, ServesTheImageResizesAndSurvivesAStall) {
    start_cluster();
    start_vhostd(3000);
    EXPECT_EQ(client_->config().capacity, 16 * kSectorsPerMiB);
    const auto data = pattern(7, 65536);
    ASSERT_EQ(client_->write(2048, data).value(), kOk);
    std::vector<std::byte> back(65536);
    ASSERT_EQ(client_->read(2048, back).value(), kOk);
    EXPECT_EQ(back, data);
    EXPECT_EQ(client_->flush().value(), kOk);
    EXPECT_EQ(client_->write_zeroes(2048, 8, false).value(), kOk);
    ASSERT_EQ(client_->read(2048, std::span(back).first(4096)).value(), kOk);
    EXPECT_TRUE(std::all_of(back.begin(), back.begin() + 4096,
                            [](std::byte b) { return b == std::byte{0}; }));
    EXPECT_EQ(client_->discard(8 * kSectorsPerMiB, 4 * kSectorsPerMiB).value(), kOk);

    json listed = rpc("bdev_get_bdevs", {{"name", "Rbd0"}});
    EXPECT_EQ(listed["result"][0]["vhostd_backend"]["rbd"]["state"], "up") << listed.dump();
    EXPECT_EQ(listed["result"][0]["driver_specific"]["rbd"]["rbd_name"], "disk");
    EXPECT_EQ(listed["result"][0]["product_name"], "Ceph Rbd Disk");
    json clusters = rpc("bdev_rbd_get_clusters_info", nullptr);
    EXPECT_EQ(clusters["result"][0]["cluster_name"], "ceph0") << clusters.dump();
    json busy = rpc("bdev_rbd_unregister_cluster", {{"name", "ceph0"}});
    EXPECT_EQ(busy["error"]["code"], -EBUSY) << busy.dump();

    // Another client grows the image: the guest is told (CONFIG_CHANGE_MSG) and reads on.
    ASSERT_TRUE(cluster_->resize_image("disk", 24)) << cluster_->output();
    auto request = client_->wait_backend_request();
    ASSERT_TRUE(request) << request.error().describe() << vhostd_->output();
    EXPECT_EQ(*request, vu::BackendRequest::config_change_msg);
    auto config = client_->read_config();
    ASSERT_TRUE(config);
    EXPECT_EQ(config->capacity, 24 * kSectorsPerMiB);
    EXPECT_EQ(client_->read(24 * kSectorsPerMiB - 8, std::span(back).first(4096)).value(), kOk);
    // bdev_rbd_resize, in MiB as SPDK's.
    json resized = rpc("bdev_rbd_resize", {{"name", "Rbd0"}, {"new_size", 32}});
    ASSERT_EQ(resized["result"], true) << resized.dump();
    request = client_->wait_backend_request();
    ASSERT_TRUE(request) << request.error().describe();
    EXPECT_EQ(client_->read_config()->capacity, 32 * kSectorsPerMiB);

    // save_config: the cluster comes before the bdev that names it.
    json saved = rpc("save_config", nullptr);
    const json& bdev_calls = saved["result"]["subsystems"][0]["config"];
    ASSERT_GE(bdev_calls.size(), 2U) << saved.dump();
    EXPECT_EQ(bdev_calls[0]["method"], "bdev_rbd_register_cluster");
    EXPECT_EQ(bdev_calls[1]["method"], "bdev_rbd_create");
    EXPECT_EQ(bdev_calls[1]["params"]["cluster_name"], "ceph0");

    // The OSD stops answering: IOERR within the timeout, then recovery.
    cluster_->freeze_osd();
    frozen_ = true;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(client_->read(2048, back).value(), kIoErr) << "a stalled OSD: IOERR in time";
    EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
    EXPECT_GE(backend()["timeouts"].get<int>(), 1) << backend().dump();
    EXPECT_EQ(backend()["state"], "down");
    cluster_->thaw_osd();
    frozen_ = false;
    uint8_t status = kIoErr;
    for (int i = 0; i < 20 && status != kOk; ++i) {
        status = client_->read(2048, back).value();
    }
    EXPECT_EQ(status, kOk) << "recovers once the OSD answers again";
    EXPECT_TRUE(std::equal(back.begin() + 4096, back.end(), data.begin() + 4096));
    EXPECT_EQ(backend()["state"], "up");

    // Deleting the controller and the bdev while the OSD does not answer: both finish.
    cluster_->freeze_osd();
    frozen_ = true;
    client_.reset();
    json ctrl;
    for (int i = 0; i < 100; ++i) {  // until the daemon has seen the frontend go
        ctrl = rpc("vhost_delete_controller", {{"ctrlr", "vhost.0"}});
        if (ctrl.contains("result")) {
            break;
        }
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(ctrl["result"], true) << ctrl.dump();
    json deleted = rpc("bdev_rbd_delete", {{"name", "Rbd0"}});
    EXPECT_EQ(deleted["result"], true) << deleted.dump();
    json bdevs = rpc("bdev_get_bdevs", nullptr);
    EXPECT_TRUE(bdevs["result"].empty()) << bdevs.dump();
    cluster_->thaw_osd();
    frozen_ = false;
}

TEST_F(RbdDiskTest, SavedConfigLoadsAgain) {
    start_cluster();
    start_vhostd(5000);
    const auto data = pattern(3, 8192);
    ASSERT_EQ(client_->write(64, data).value(), kOk);
    ASSERT_EQ(client_->flush().value(), kOk);
    json saved = rpc("save_config", nullptr);
    ASSERT_TRUE(saved.contains("result")) << saved.dump();
    client_.reset();
    EXPECT_EQ(vhostd_->stop(60s), 0) << vhostd_->output();
    vhostd_.reset();
    start_vhostd(5000, saved["result"]);
    std::vector<std::byte> back(8192);
    ASSERT_EQ(client_->read(64, back).value(), kOk);
    EXPECT_EQ(back, data);
    EXPECT_EQ(rpc("save_config", nullptr)["result"], saved["result"]) << "the same config again";
}

// SIGKILL to the OSD while a writer keeps going; the OSD restarts. Every write acknowledged
// before, during or after reads back as written once the OSD is back (a write that failed may
// or may not have landed: it reads as either its old or its new contents). The image sits on
// bluestore, whose data survives the kill; the I/O timeout is long enough for the restart, so
// librbd resends what was in flight.
TEST_F(RbdDiskTest, KilledOsdLosesNothingAcknowledged) {
    start_cluster(/*bluestore=*/true);
    start_vhostd(30'000);
    constexpr size_t kBlock = 4096;
    constexpr uint64_t kBlocks = 600;  // one 4 KiB write each, in order
    std::vector<uint8_t> outcome(kBlocks, 0xff);
    std::atomic<uint64_t> written{0};
    std::atomic<bool> failed_transport{false};
    auto writer = std::async(std::launch::async, [&] {
        for (uint64_t i = 0; i < kBlocks; ++i) {
            auto status = client_->write(i * (kBlock / 512), pattern(1000 + i, kBlock));
            if (!status) {
                failed_transport = true;
                return;
            }
            outcome[i] = *status;
            written = i + 1;
        }
    });
    while (written < 100 && writer.wait_for(1ms) != std::future_status::ready) {
    }
    ASSERT_TRUE(cluster_->osd("kill")) << cluster_->output();
    std::this_thread::sleep_for(500ms);  // writes pile up against the dead OSD
    const uint64_t at_kill = written;
    ASSERT_TRUE(cluster_->osd("start")) << cluster_->output();
    writer.wait();
    ASSERT_FALSE(failed_transport) << vhostd_->output();
    EXPECT_EQ(client_->flush().value(), kOk) << "everything acknowledged is now durable";
    uint64_t ok = 0;
    std::vector<std::byte> back(kBlock);
    for (uint64_t i = 0; i < kBlocks; ++i) {
        ASSERT_EQ(client_->read(i * (kBlock / 512), back).value(), kOk) << "block " << i;
        const auto expected = pattern(1000 + i, kBlock);
        if (outcome[i] == kOk) {
            ++ok;
            ASSERT_EQ(back, expected) << "acknowledged write to block " << i << " lost";
        } else {
            ASSERT_EQ(outcome[i], kIoErr) << "block " << i;
            const bool untouched = std::all_of(back.begin(), back.end(),
                                               [](std::byte b) { return b == std::byte{0}; });
            EXPECT_TRUE(untouched || back == expected) << "block " << i;
        }
    }
    EXPECT_GT(ok, at_kill) << "writes went on after the restart";
    std::cerr << "writes: " << ok << " acknowledged of " << kBlocks << ", kill after " << at_kill
              << "\n";
}

TEST(RbdDiskRpcTest, UnreachableClusterIsAClearErrorAndRpcStaysResponsive) {
    VhostdProcess vhostd{{.config = make_config(json::array(), json::array())}};
    ASSERT_TRUE(vhostd.start()) << vhostd.output();
    // A monitor address nobody answers on.
    const json params = {
        {"name", "Gone"},
        {"pool_name", "rbd"},
        {"rbd_name", "disk"},
        {"block_size", 512},
        {"config", {{"mon_host", "v2:127.0.0.1:9"}, {"auth_client_required", "none"}}},
        {"io_timeout_ms", 3000}};
    auto create = std::async(std::launch::async, [&] {
        RawRpc client(vhostd.rpc_socket());
        return client.call("bdev_rbd_create", params);
    });
    // While the create waits for the cluster, RPC answers.
    std::this_thread::sleep_for(200ms);
    RawRpc other(vhostd.rpc_socket());
    const auto start = std::chrono::steady_clock::now();
    auto listed = other.call("bdev_get_bdevs", nullptr);
    ASSERT_TRUE(listed);
    EXPECT_TRUE((*listed)["result"].empty());
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "RPC is not held up";
    EXPECT_EQ(create.wait_for(0s), std::future_status::timeout) << "answered before the timeout?";
    auto created = create.get();
    ASSERT_TRUE(created);
    EXPECT_EQ((*created)["error"]["code"], -ETIMEDOUT) << created->dump();
    EXPECT_NE((*created)["error"]["message"].get<std::string>().find("Gone"), std::string::npos);
    auto unknown = other.call("bdev_rbd_create", {{"pool_name", "rbd"},
                                                  {"rbd_name", "disk"},
                                                  {"block_size", 512},
                                                  {"cluster_name", "nowhere"}});
    ASSERT_TRUE(unknown);
    EXPECT_EQ((*unknown)["error"]["code"], -ENOENT) << unknown->dump();
    auto bad = other.call("bdev_rbd_create", {{"pool_name", "rbd"}, {"rbd_name", "disk"}});
    ASSERT_TRUE(bad);
    EXPECT_EQ((*bad)["error"]["code"], -32602) << bad->dump();
    auto none = other.call("bdev_rbd_get_clusters_info", nullptr);
    ASSERT_TRUE(none);
    EXPECT_EQ((*none)["error"]["code"], -ENOENT) << "as SPDK: no cluster is an error";
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
}

}  // namespace
}  // namespace vhostd::testing

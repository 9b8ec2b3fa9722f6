// A remote disk end to end: vhostd serves a vhost-user-blk controller over an NBD bdev whose
// server (nbdkit, started here) is created by config and by RPC; data written through the
// frontend is read back, discard and zeroes reach the server, a server stalled with SIGSTOP
// gives the frontend IOERR within the timeout and recovers after SIGCONT, a server killed and
// restarted on a file loses nothing acknowledged, and an unreachable server fails the RPC.
#include <fstream>
#include <thread>

#include "fixtures.hpp"
#include "rpc_test_util.hpp"
#include "support/nbd_server.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

json nbd_bdev(const std::string& name, const std::string& uri, uint32_t timeout_ms) {
    return {{"method", "bdev_nbd_client_create"},
            {"params", {{"name", name}, {"uri", uri}, {"io_timeout_ms", timeout_ms}}}};
}

class NbdDiskTest : public ::testing::Test {
  protected:
    json rpc(const std::string& method, const json& params) {
        RawRpc client(vhostd_->rpc_socket());
        auto response = client.call(method, params);
        return response ? *response : json{{"error", "no response"}};
    }
    void start(const std::string& uri, uint32_t timeout_ms) {
        vhostd_ = std::make_unique<VhostdProcess>(VhostdProcess::Options{
            .config = make_config(json::array({nbd_bdev("Nbd0", uri, timeout_ms)}),
                                  json::array({blk_controller("vhost.0", "Nbd0")})),
            .sockets = {"vhost.0"}});
        ASSERT_TRUE(vhostd_->start()) << vhostd_->output();
        client_ = connect_client(client_options(vhostd_->socket("vhost.0")));
        ASSERT_TRUE(client_);
    }
    void TearDown() override {
        client_.reset();
        if (vhostd_) {
            EXPECT_EQ(vhostd_->stop(), 0) << vhostd_->output();
        }
    }

    std::unique_ptr<VhostdProcess> vhostd_;
    std::unique_ptr<frontend::BlkClient> client_;
};

TEST_F(NbdDiskTest, ServesTheExportAndSurvivesAStall) {
    NbdServer server({"memory", "16M"});
    ASSERT_TRUE(server.start());
    start(server.uri(), 500);
    EXPECT_EQ(client_->config().capacity, (16U << 20) / 512);
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
    EXPECT_EQ(client_->discard(0, 2048).value(), kOk);

    json listed = rpc("bdev_get_bdevs", {{"name", "Nbd0"}});
    EXPECT_EQ(listed["result"][0]["vhostd_backend"]["nbd"]["state"], "up") << listed.dump();
    EXPECT_EQ(listed["result"][0]["driver_specific"]["nbd_client"]["uri"], server.uri());

    server.freeze();
    EXPECT_EQ(client_->read(2048, back).value(), kIoErr) << "a stalled server: IOERR in time";
    listed = rpc("bdev_get_bdevs", {{"name", "Nbd0"}});
    EXPECT_GE(listed["result"][0]["vhostd_backend"]["nbd"]["timeouts"].get<int>(), 1);
    server.signal(SIGCONT);
    uint8_t status = kIoErr;
    for (int i = 0; i < 20 && status != kOk; ++i) {
        status = client_->read(4096, back).value();
    }
    EXPECT_EQ(status, kOk) << "recovers once the server answers again";
    ASSERT_EQ(client_->read(2048 + 8, std::span(back).first(4096)).value(), kOk);
    EXPECT_TRUE(std::equal(back.begin(), back.begin() + 4096, data.begin() + 4096));

    // Deleting the controller and the bdev while the server does not answer: both finish
    // (in-flight requests end at the timeout), nothing waits for the server.
    server.freeze();
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
    json deleted = rpc("bdev_nbd_client_delete", {{"name", "Nbd0"}});
    EXPECT_EQ(deleted["result"], true) << deleted.dump();
    server.signal(SIGCONT);
}

TEST_F(NbdDiskTest, KilledServerLosesNothingAcknowledged) {
    NbdServer server;
    const std::string file = server.dir() + "/disk.img";
    std::ofstream(file).close();
    std::filesystem::resize_file(file, 8 << 20);
    server.set_args({"file", file});
    ASSERT_TRUE(server.start());
    start(server.uri(), 5000);
    const auto data = pattern(9, 8192);
    ASSERT_EQ(client_->write(0, data).value(), kOk);
    ASSERT_EQ(client_->flush().value(), kOk);

    server.stop();
    std::this_thread::sleep_for(300ms);  // vhostd notices and keeps reconnecting, with backoff
    // (From this thread: nbdkit dies with the thread that started it, --exit-with-parent.)
    ASSERT_TRUE(server.start());
    // Written right after the restart: it waits for the reconnect (or fails, never "done"
    // without being written).
    const auto more = pattern(10, 4096);
    auto write_result = client_->write(64, more);
    ASSERT_TRUE(write_result.has_value()) << write_result.error().describe() << "\n"
                                          << vhostd_->output();
    const uint8_t written = *write_result;
    EXPECT_EQ(written, kOk);
    std::vector<std::byte> back(8192);
    uint8_t status = kIoErr;
    for (int i = 0; i < 20 && status != kOk; ++i) {
        status = client_->read(0, back).value();
    }
    ASSERT_EQ(status, kOk);
    EXPECT_EQ(back, data);
    if (written == kOk) {
        ASSERT_EQ(client_->read(64, std::span(back).first(4096)).value(), kOk);
        EXPECT_TRUE(std::equal(more.begin(), more.end(), back.begin()));
    }
}

TEST(NbdDiskRpcTest, UnreachableServerIsAClearErrorAndRpcStaysResponsive) {
    VhostdProcess vhostd{{.config = make_config(json::array(), json::array())}};
    ASSERT_TRUE(vhostd.start()) << vhostd.output();
    RawRpc client(vhostd.rpc_socket());
    auto created =
        client.call("bdev_nbd_client_create",
                    {{"name", "Gone"}, {"uri", "nbd+unix:///?socket=/nonexistent/nbd.sock"}});
    ASSERT_TRUE(created);
    EXPECT_TRUE(created->contains("error")) << created->dump();
    auto bad = client.call("bdev_nbd_client_create", {{"name", "Bad"}, {"uri", "http://x"}});
    ASSERT_TRUE(bad);
    EXPECT_EQ((*bad)["error"]["code"], -32602) << bad->dump();
    auto listed = client.call("bdev_get_bdevs", nullptr);
    ASSERT_TRUE(listed);
    EXPECT_TRUE((*listed)["result"].empty());
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
}

}  // namespace
}  // namespace vhostd::testing

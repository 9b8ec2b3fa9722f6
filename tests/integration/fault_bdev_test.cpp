// Fault-injecting bdevs under connected frontends, driven over JSON-RPC: injected errors reach
// a virtio-blk driver as IOERR, a failed bdev fails everything until it is online again, a
// removed one for good, and a SCSI target whose bdev is removed is unplugged from the guest;
// a stack of fault bdevs survives save_config and a restart.
#include <thread>

#include "scsi_fixtures.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;
namespace vs = virtio_scsi;

constexpr uint64_t kBlocks = 4096;

json call(const std::string& method, json params) {
    return {{"method", method}, {"params", std::move(params)}};
}

class BlkFaultTest : public ::testing::Test {
  protected:
    json rpc(const std::string& method, const json& params) {
        return rpc_call(vhostd.rpc_socket(), method, params);
    }
    std::string state_of(const std::string& bdev) {
        json listed = rpc("bdev_get_bdevs", {{"name", bdev}});
        return listed["result"][0].value("vhostd_state", "?");
    }
    void TearDown() override { EXPECT_EQ(vhostd.stop(), 0) << vhostd.output(); }

    VhostdProcess vhostd{
        {.config = make_config(json::array({malloc_bdev("Malloc0", kBlocks),
                                            call("bdev_error_create", {{"base_name", "Malloc0"}})}),
                               json::array({blk_controller("vhost.0", "EE_Malloc0")})),
         .sockets = {"vhost.0"}}};
};

TEST_F(BlkFaultTest, InjectedFailuresHitExactlyTheChosenRequests) {
    START_VHOSTD(vhostd);
    auto client = connect_client(client_options(vhostd.socket("vhost.0")));
    ASSERT_TRUE(client);
    const auto data = pattern(1, 4096);
    ASSERT_EQ(client->write(0, data).value(), kOk);

    json injected =
        rpc("bdev_error_inject_error",
            {{"name", "EE_Malloc0"}, {"io_type", "read"}, {"error_type", "failure"}, {"num", 2}});
    ASSERT_EQ(injected["result"], true) << injected.dump();
    std::vector<std::byte> buf(4096);
    EXPECT_EQ(client->write(8, data).value(), kOk) << "writes are not injected";
    EXPECT_EQ(client->read(0, buf).value(), kIoErr);
    EXPECT_EQ(client->read(0, buf).value(), kIoErr);
    ASSERT_EQ(client->read(0, buf).value(), kOk) << "only two were asked for";
    EXPECT_EQ(buf, data);

    json iostat = rpc("bdev_get_iostat", {{"name", "EE_Malloc0"}});
    EXPECT_EQ(iostat["result"]["bdevs"][0]["num_read_ops"], 1) << iostat.dump();
}

TEST_F(BlkFaultTest, FailedBdevFailsEveryRequestUntilItIsOnlineAgain) {
    START_VHOSTD(vhostd);
    auto client = connect_client(client_options(vhostd.socket("vhost.0")));
    ASSERT_TRUE(client);
    const auto data = pattern(2, 4096);
    std::vector<std::byte> buf(4096);
    EXPECT_EQ(state_of("EE_Malloc0"), "online");

    json failed = rpc("bdev_error_set_state", {{"name", "EE_Malloc0"}, {"state", "failed"}});
    ASSERT_EQ(failed["result"], true) << failed.dump();
    EXPECT_EQ(state_of("EE_Malloc0"), "failed");
    EXPECT_EQ(client->write(0, data).value(), kIoErr);
    EXPECT_EQ(client->read(0, buf).value(), kIoErr);

    json back = rpc("bdev_error_set_state", {{"name", "EE_Malloc0"}, {"state", "online"}});
    ASSERT_EQ(back["result"], true) << back.dump();
    EXPECT_EQ(state_of("EE_Malloc0"), "online");
    EXPECT_EQ(client->write(0, data).value(), kOk);
    EXPECT_EQ(client->read(0, buf).value(), kOk);
    EXPECT_EQ(buf, data);
}

TEST_F(BlkFaultTest, RemovedBdevNeverComesBackAndIsStillDeletable) {
    START_VHOSTD(vhostd);
    auto client = connect_client(client_options(vhostd.socket("vhost.0")));
    ASSERT_TRUE(client);
    std::vector<std::byte> buf(4096);
    json removed = rpc("bdev_error_set_state", {{"name", "EE_Malloc0"}, {"state", "removed"}});
    ASSERT_EQ(removed["result"], true) << removed.dump();
    EXPECT_EQ(state_of("EE_Malloc0"), "removed");
    EXPECT_EQ(client->read(0, buf).value(), kIoErr);
    json back = rpc("bdev_error_set_state", {{"name", "EE_Malloc0"}, {"state", "online"}});
    EXPECT_EQ(back["error"]["code"], -EINVAL) << back.dump();
    EXPECT_EQ(client->read(0, buf).value(), kIoErr);

    // Not an error bdev: refused, the base unchanged.
    json wrong = rpc("bdev_error_set_state", {{"name", "Malloc0"}, {"state", "failed"}});
    EXPECT_EQ(wrong["error"]["code"], -ENODEV) << wrong.dump();
    EXPECT_EQ(state_of("Malloc0"), "online");

    client.reset();
    json ctrl = rpc("vhost_delete_controller", {{"ctrlr", "vhost.0"}});
    ASSERT_EQ(ctrl["result"], true) << ctrl.dump();
    json deleted = rpc("bdev_error_delete", {{"name", "EE_Malloc0"}});
    ASSERT_EQ(deleted["result"], true) << deleted.dump();
    // The base is released with it.
    json base = rpc("bdev_malloc_delete", {{"name", "Malloc0"}});
    EXPECT_EQ(base["result"], true) << base.dump();
}

TEST(ScsiFaultTest, RemovedBdevUnplugsItsTargetAndFailedGivesCheckCondition) {
    VhostdProcess vhostd{
        {.config = make_scsi_config(
             json::array({malloc_bdev("Malloc0", kBlocks), malloc_bdev("Malloc1", kBlocks),
                          call("bdev_error_create", {{"base_name", "Malloc0"}}),
                          call("bdev_error_create", {{"base_name", "Malloc1"}})}),
             json::array({scsi_controller("scsi.0"), scsi_target("scsi.0", 0, "EE_Malloc0"),
                          scsi_target("scsi.0", 1, "EE_Malloc1")})),
         .sockets = {"scsi.0"}}};
    START_VHOSTD(vhostd);
    auto rpc = [&](const std::string& method, const json& params) {
        return rpc_call(vhostd.rpc_socket(), method, params);
    };
    auto client = connect_scsi(vhostd.socket("scsi.0"));
    ASSERT_TRUE(client);
    ASSERT_TRUE(clear_unit_attentions(*client, 0));
    ASSERT_TRUE(clear_unit_attentions(*client, 1));

    // Failed: commands that touch the medium end in CHECK CONDITION; the target stays.
    ASSERT_EQ(rpc("bdev_error_set_state", {{"name", "EE_Malloc1"}, {"state", "failed"}})["result"],
              true);
    auto read =
        client->execute({.target = 1, .cdb = cdb_rw16(false, 0, 8), .data_in_length = 4096});
    ASSERT_TRUE(read);
    EXPECT_EQ(read->response, vs::response::kOk);
    EXPECT_EQ(read->status, kCheckCondition);
    ASSERT_EQ(rpc("bdev_error_set_state", {{"name", "EE_Malloc1"}, {"state", "online"}})["result"],
              true);
    read = client->execute({.target = 1, .cdb = cdb_rw16(false, 0, 8), .data_in_length = 4096});
    ASSERT_TRUE(read);
    EXPECT_EQ(read->status, kGood);

    // Removed: the target is unplugged as by vhost_scsi_controller_remove_target.
    ASSERT_EQ(rpc("bdev_error_set_state", {{"name", "EE_Malloc0"}, {"state", "removed"}})["result"],
              true);
    auto event = client->next_event(std::chrono::seconds(5));
    ASSERT_TRUE(event) << event.error().describe();
    EXPECT_EQ(event->event, vs::event::kTransportReset);
    EXPECT_EQ(event->reason, vs::event::kResetRemoved);
    EXPECT_EQ(event->lun[1], 0);
    auto gone = client->execute({.target = 0, .cdb = cdb_test_unit_ready()});
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->response, vs::response::kBadTarget);
    // The listing follows once every queue has let go of the target (asynchronously).
    json listed;
    for (int i = 0; i < 100; ++i) {
        listed = rpc("vhost_get_controllers", {{"name", "scsi.0"}});
        if (listed["result"][0]["backend_specific"]["scsi"].size() == 1) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(listed["result"][0]["backend_specific"]["scsi"].size(), 1U) << listed.dump();
    // The other target carries on.
    auto still = client->execute({.target = 1, .cdb = cdb_test_unit_ready()});
    ASSERT_TRUE(still);
    EXPECT_EQ(still->status, kGood);
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
}

TEST(FaultConfigTest, AStackOfFaultBdevsSurvivesSaveConfigAndARestart) {
    VhostdProcess first{
        {.config = make_config(
             json::array({malloc_bdev("Malloc0", kBlocks), malloc_bdev("Malloc1", kBlocks),
                          call("bdev_delay_create", {{"base_bdev_name", "Malloc0"},
                                                     {"name", "Delay0"},
                                                     {"avg_read_latency", 100},
                                                     {"p99_read_latency", 200},
                                                     {"avg_write_latency", 50},
                                                     {"p99_write_latency", 100}}),
                          call("bdev_error_create", {{"base_name", "Malloc1"}})}),
             json::array(
                 {blk_controller("vhost.0", "Delay0"), blk_controller("vhost.1", "EE_Malloc1")})),
         .sockets = {"vhost.0", "vhost.1"}}};
    START_VHOSTD(first);
    auto client = connect_client(client_options(first.socket("vhost.0")));
    ASSERT_TRUE(client);
    const auto data = pattern(3, 8192);
    std::vector<std::byte> buf(8192);
    ASSERT_EQ(client->write(16, data).value(), kOk);
    ASSERT_EQ(client->read(16, buf).value(), kOk);
    EXPECT_EQ(buf, data) << "the delay bdev passes data through";
    client.reset();

    json updated = rpc_call(
        first.rpc_socket(), "bdev_delay_update_latency",
        {{"delay_bdev_name", "Delay0"}, {"latency_type", "avg_read"}, {"latency_us", 150}});
    ASSERT_EQ(updated["result"], true) << updated.dump();
    json saved = rpc_call(first.rpc_socket(), "save_config", nullptr);
    ASSERT_TRUE(saved.contains("result")) << saved.dump();
    EXPECT_EQ(first.stop(), 0) << first.output();

    // The bases come before the bdevs stacked on them, with the latest parameters.
    std::vector<std::string> order;
    json delay_params;
    for (const json& subsystem : saved["result"]["subsystems"]) {
        if (subsystem["subsystem"] != "bdev") {
            continue;
        }
        for (const json& c : subsystem["config"]) {
            const std::string method = c["method"];
            if (method == "bdev_error_create") {
                order.push_back("EE_" + c["params"]["base_name"].get<std::string>());
            } else if (method.ends_with("_create")) {
                order.push_back(c["params"].value("name", "?"));
            }
            if (method == "bdev_delay_create") {
                delay_params = c["params"];
            }
        }
    }
    ASSERT_EQ(order.size(), 4U) << saved.dump();
    auto position = [&](const std::string& n) {
        return std::find(order.begin(), order.end(), n) - order.begin();
    };
    EXPECT_LT(position("Malloc0"), position("Delay0"));
    EXPECT_LT(position("Malloc1"), position("EE_Malloc1"));
    EXPECT_EQ(delay_params["avg_read_latency"], 150) << delay_params.dump();

    VhostdProcess second{{.config = saved["result"], .sockets = {"vhost.0", "vhost.1"}}};
    START_VHOSTD(second);
    auto again = connect_client(client_options(second.socket("vhost.1")));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->read(0, buf).value(), kOk);
    again.reset();
    json listed = rpc_call(second.rpc_socket(), "bdev_get_bdevs", {{"name", "Delay0"}});
    EXPECT_EQ(listed["result"][0]["driver_specific"]["delay"]["avg_read_latency"], 150)
        << listed.dump();
    EXPECT_EQ(second.stop(), 0) << second.output();
}

}  // namespace
}  // namespace vhostd::testing

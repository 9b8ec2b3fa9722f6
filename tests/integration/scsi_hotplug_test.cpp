// Hot-plug of SCSI targets over JSON-RPC while a driver is connected: TRANSPORT_RESET events
// on the event queue, removal with commands in flight (they complete, none hangs), claims,
// listings and save_config; and hostile requests that the device refuses or breaks on.
#include <cstring>

#include "scsi_fixtures.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;
namespace vs = virtio_scsi;

constexpr uint64_t kBlocks = 16384;

class ScsiHotplugTest : public ::testing::Test {
  protected:
    VhostdProcess vhostd{
        {.config = make_scsi_config(
             json::array({malloc_bdev("Malloc0", kBlocks), malloc_bdev("Malloc1", kBlocks)}),
             json::array({scsi_controller("scsi.0"), scsi_target("scsi.0", 0, "Malloc0")})),
         .sockets = {"scsi.0"}}};

    json rpc(const std::string& method, const json& params) {
        return rpc_call(vhostd.rpc_socket(), method, params);
    }
    void TearDown() override { EXPECT_EQ(vhostd.stop(), 0) << vhostd.output(); }
};

TEST_F(ScsiHotplugTest, AddAndRemoveSendEvents) {
    START_VHOSTD(vhostd);
    auto client = connect_scsi(vhostd.socket("scsi.0"));
    ASSERT_TRUE(client);
    // -1 takes the lowest free number, as in SPDK.
    json added = rpc("vhost_scsi_controller_add_target",
                     {{"ctrlr", "scsi.0"}, {"scsi_target_num", -1}, {"bdev_name", "Malloc1"}});
    ASSERT_EQ(added["result"], 1) << added.dump();
    auto event = client->next_event(std::chrono::seconds(5));
    ASSERT_TRUE(event) << event.error().describe();
    EXPECT_EQ(event->event, vs::event::kTransportReset);
    EXPECT_EQ(event->reason, vs::event::kResetRescan);
    EXPECT_EQ(event->lun[0], 1);
    EXPECT_EQ(event->lun[1], 1);
    auto inquiry = client->execute({.target = 1, .cdb = cdb_inquiry(36), .data_in_length = 36});
    ASSERT_TRUE(inquiry);
    EXPECT_EQ(inquiry->response, vs::response::kOk);

    // The bdev is claimed: a second target on it is refused.
    json twice = rpc("vhost_scsi_controller_add_target",
                     {{"ctrlr", "scsi.0"}, {"scsi_target_num", 2}, {"bdev_name", "Malloc1"}});
    EXPECT_TRUE(twice.contains("error")) << twice.dump();

    json listed = rpc("vhost_get_controllers", {{"name", "scsi.0"}});
    const json& targets = listed["result"][0]["backend_specific"]["scsi"];
    ASSERT_EQ(targets.size(), 2U) << listed.dump();
    EXPECT_EQ(targets[1]["scsi_dev_num"], 1);
    EXPECT_EQ(targets[1]["luns"][0]["bdev_name"], "Malloc1");

    json removed =
        rpc("vhost_scsi_controller_remove_target", {{"ctrlr", "scsi.0"}, {"scsi_target_num", 1}});
    ASSERT_EQ(removed["result"], true) << removed.dump();
    event = client->next_event(std::chrono::seconds(5));
    ASSERT_TRUE(event);
    EXPECT_EQ(event->event, vs::event::kTransportReset);
    EXPECT_EQ(event->reason, vs::event::kResetRemoved);
    EXPECT_EQ(event->lun[1], 1);
    auto gone = client->execute({.target = 1, .cdb = cdb_inquiry(36), .data_in_length = 36});
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->response, vs::response::kBadTarget);
    // The claim is released: the bdev can be deleted.
    json deleted = rpc("bdev_malloc_delete", {{"name", "Malloc1"}});
    EXPECT_EQ(deleted["result"], true) << deleted.dump();

    json saved = rpc("save_config", nullptr);
    bool found = false;
    for (const json& subsystem : saved["result"]["subsystems"]) {
        if (subsystem["subsystem"] == "vhost_scsi") {
            found = true;
            ASSERT_EQ(subsystem["config"].size(), 2U) << subsystem.dump();
            EXPECT_EQ(subsystem["config"][0]["method"], "vhost_create_scsi_controller");
            EXPECT_EQ(subsystem["config"][1]["params"]["scsi_target_num"], 0);
        }
    }
    EXPECT_TRUE(found) << saved.dump();
}

TEST_F(ScsiHotplugTest, RemoveWithCommandsInFlight) {
    START_VHOSTD(vhostd);
    auto client = connect_scsi(vhostd.socket("scsi.0"));
    ASSERT_TRUE(client);
    ASSERT_TRUE(clear_unit_attentions(*client, 0));
    const auto data = pattern(5, 64 * 1024);
    std::vector<uint16_t> handles;
    for (uint64_t i = 0; i < 16; ++i) {  // 3 descriptors each, 64-entry ring
        auto h = client->submit({.target = 0,
                                 .cdb = cdb_rw16(i % 2 == 0, 128 * i, 128),
                                 .data_out = i % 2 == 0 ? data : std::vector<std::byte>{},
                                 .data_in_length = i % 2 == 0 ? 0U : 64U * 1024});
        ASSERT_TRUE(h);
        handles.push_back(*h);
    }
    json removed =
        rpc("vhost_scsi_controller_remove_target", {{"ctrlr", "scsi.0"}, {"scsi_target_num", 0}});
    ASSERT_EQ(removed["result"], true) << removed.dump();
    // Every command completes: done before the removal, or failed by it.
    for (uint16_t h : handles) {
        auto done = client->wait(h);
        ASSERT_TRUE(done) << done.error().describe();
        EXPECT_NE(done->response, 0xff);
    }
    auto gone = client->execute({.target = 0, .cdb = cdb_test_unit_ready()});
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->response, vs::response::kBadTarget);
    // Removing it again is an error; adding it back works.
    json again =
        rpc("vhost_scsi_controller_remove_target", {{"ctrlr", "scsi.0"}, {"scsi_target_num", 0}});
    EXPECT_TRUE(again.contains("error"));
    json added = rpc("vhost_scsi_controller_add_target",
                     {{"ctrlr", "scsi.0"}, {"scsi_target_num", 0}, {"bdev_name", "Malloc0"}});
    EXPECT_EQ(added["result"], 0) << added.dump();
}

TEST_F(ScsiHotplugTest, EventsMissedWithoutBuffers) {
    START_VHOSTD(vhostd);
    frontend::ScsiClient::Options options;
    options.socket_path = vhostd.socket("scsi.0");
    options.event_buffers = 1;
    auto client = frontend::ScsiClient::connect(options);
    ASSERT_TRUE(client);
    auto& c = **client;
    // One buffer and more events than the device queues for later: some are dropped, and a
    // later event carries VIRTIO_SCSI_T_EVENTS_MISSED once the buffer is reposted.
    constexpr int kPairs = 6;  // 12 events > 1 buffer + 8 queued
    for (int i = 0; i < kPairs; ++i) {
        ASSERT_EQ(
            rpc("vhost_scsi_controller_add_target",
                {{"ctrlr", "scsi.0"}, {"scsi_target_num", 3}, {"bdev_name", "Malloc1"}})["result"],
            3);
        ASSERT_EQ(rpc("vhost_scsi_controller_remove_target",
                      {{"ctrlr", "scsi.0"}, {"scsi_target_num", 3}})["result"],
                  true);
    }
    bool missed = false;
    for (int i = 0; i < 2 * kPairs && !missed; ++i) {
        auto event = c.next_event(std::chrono::seconds(5));  // reposts the buffer
        ASSERT_TRUE(event);
        missed = (event->event & vs::event::kEventsMissed) != 0;
    }
    EXPECT_TRUE(missed);
}

TEST_F(ScsiHotplugTest, HostileRequests) {
    START_VHOSTD(vhostd);
    auto client = connect_scsi(vhostd.socket("scsi.0"));
    ASSERT_TRUE(client);
    auto buf = client->ram().alloc(4096).value();
    std::memset(buf.host, 0, 4096);
    // A header shorter than 19 + cdb_size bytes: answered with VIRTIO_SCSI_S_FAILURE.
    buf.host[0] = 1;
    const std::array<frontend::Segment, 2> short_header{
        frontend::Segment{buf.gpa, 20, false},
        frontend::Segment{buf.gpa + 1024, sizeof(vs::CmdResponse) + 96, true}};
    buf.host[1024 + 11] = 0xff;
    auto len = client->exchange_raw(vs::kFirstRequestQueue, short_header);
    ASSERT_TRUE(len) << len.error().describe();
    EXPECT_EQ(buf.host[1024 + 11], vs::response::kFailure);
    // A TMF (type 0) shorter than its struct: FAILURE in its response byte.
    std::memset(buf.host, 0, 8);
    const std::array<frontend::Segment, 2> short_tmf{frontend::Segment{buf.gpa, 8, false},
                                                     frontend::Segment{buf.gpa + 2048, 1, true}};
    ASSERT_TRUE(client->exchange_raw(vs::kControlQueue, short_tmf));
    EXPECT_EQ(buf.host[2048], vs::response::kFailure);
    // A response in a device-readable buffer: nothing can be answered, the ring breaks
    // (the used element never comes) and vhostd keeps running.
    const std::array<frontend::Segment, 1> read_only{frontend::Segment{buf.gpa, 200, false}};
    auto broken = client->exchange_raw(vs::kFirstRequestQueue, read_only);
    EXPECT_FALSE(broken);
    // Other queues are unaffected by that ring; a new connection works.
    client.reset();
    auto fresh = connect_scsi(vhostd.socket("scsi.0"));
    ASSERT_TRUE(fresh);
    auto inquiry = fresh->execute({.target = 0, .cdb = cdb_inquiry(36), .data_in_length = 36});
    ASSERT_TRUE(inquiry);
    EXPECT_EQ(inquiry->response, vs::response::kOk);
}

}  // namespace
}  // namespace vhostd::testing

// A bdev resized while a SCSI driver is connected: the driver gets a PARAM_CHANGE event with
// CAPACITY DATA HAS CHANGED, the unit attention on its next command, the new capacity from
// READ CAPACITY, and can address the new blocks. A shrink under a guest is refused.
#include <filesystem>
#include <fstream>

#include "scsi_fixtures.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;
namespace vs = virtio_scsi;

constexpr uint64_t kMiB = 1 << 20;

json null_bdev(const std::string& name, uint64_t mib) {
    return {{"method", "bdev_null_create"},
            {"params", {{"name", name}, {"num_blocks", mib * kMiB / 512}, {"block_size", 512}}}};
}

class ScsiResizeTest : public ::testing::Test {
  protected:
    json rpc(const std::string& method, const json& params) {
        return rpc_call(vhostd.rpc_socket(), method, params);
    }
    void TearDown() override { EXPECT_EQ(vhostd.stop(), 0) << vhostd.output(); }

    // After a resize of target `id` to `blocks`: the event, then the unit attention, then the
    // new capacity, then I/O to the last block.
    void expect_reported(frontend::ScsiClient& client, uint8_t id, uint64_t blocks) {
        auto event = client.next_event(std::chrono::seconds(5));
        ASSERT_TRUE(event) << event.error().describe();
        EXPECT_EQ(event->event, vs::event::kParamChange);
        EXPECT_EQ(event->reason, 0x2aU | 0x09U << 8) << "ASC 2Ah, ASCQ 09h";
        EXPECT_EQ(event->lun[1], id);
        auto tur = client.execute({.target = id, .cdb = cdb_test_unit_ready()});
        ASSERT_TRUE(tur);
        ASSERT_EQ(tur->status, kCheckCondition);
        EXPECT_EQ(tur->sense_key(), 0x6);  // UNIT ATTENTION
        EXPECT_EQ(tur->asc(), 0x2a);
        EXPECT_EQ(tur->ascq(), 0x09);  // CAPACITY DATA HAS CHANGED
        ASSERT_TRUE(clear_unit_attentions(client, id));
        auto cap =
            client.execute({.target = id, .cdb = cdb_read_capacity16(), .data_in_length = 32});
        ASSERT_TRUE(cap);
        ASSERT_EQ(cap->status, kGood);
        EXPECT_EQ(be64(cap->data_in, 0), blocks - 1);
        auto last = client.execute(
            {.target = id, .cdb = cdb_rw16(false, blocks - 8, 8), .data_in_length = 4096});
        ASSERT_TRUE(last);
        EXPECT_EQ(last->status, kGood) << "sense key " << int(last->sense_key());
    }

    VhostdProcess vhostd{
        {.config = make_scsi_config(
             json::array({null_bdev("Null0", 8)}),
             json::array({scsi_controller("scsi.0"), scsi_target("scsi.0", 0, "Null0")})),
         .sockets = {"scsi.0"}}};
};

TEST_F(ScsiResizeTest, NullResizeReachesTheDriver) {
    START_VHOSTD(vhostd);
    auto client = connect_scsi(vhostd.socket("scsi.0"));
    ASSERT_TRUE(client);
    ASSERT_TRUE(clear_unit_attentions(*client, 0));
    // Past the old end: refused before the resize.
    auto beyond = client->execute(
        {.target = 0, .cdb = cdb_rw16(false, 8 * kMiB / 512, 8), .data_in_length = 4096});
    ASSERT_TRUE(beyond);
    EXPECT_EQ(beyond->sense_key(), 0x5);

    json resized = rpc("bdev_null_resize", {{"name", "Null0"}, {"new_size", 16}});
    ASSERT_EQ(resized["result"], true) << resized.dump();
    expect_reported(*client, 0, 16 * kMiB / 512);
    json bdev = rpc("bdev_get_bdevs", {{"name", "Null0"}});
    EXPECT_EQ(bdev["result"][0]["num_blocks"], 16 * kMiB / 512) << bdev.dump();

    // SPDK's rules: a null bdev never shrinks; the same size is no change (and no event).
    json shrink = rpc("bdev_null_resize", {{"name", "Null0"}, {"new_size", 4}});
    EXPECT_TRUE(shrink.contains("error")) << shrink.dump();
    json same = rpc("bdev_null_resize", {{"name", "Null0"}, {"new_size", 16}});
    EXPECT_EQ(same["result"], true) << same.dump();
    json unknown = rpc("bdev_null_resize", {{"name", "Nope"}, {"new_size", 16}});
    EXPECT_TRUE(unknown.contains("error")) << unknown.dump();
    json not_uring = rpc("bdev_uring_rescan", {{"name", "Null0"}});
    EXPECT_TRUE(not_uring.contains("error")) << not_uring.dump();
    EXPECT_FALSE(client->next_event(std::chrono::milliseconds(300)));

    // save_config keeps the new size.
    json saved = rpc("save_config", nullptr);
    EXPECT_NE(saved.dump().find(fmt::format("\"num_blocks\":{}", 16 * kMiB / 512)),
              std::string::npos);
}

TEST_F(ScsiResizeTest, UringRescanGrowsAndRefusesToShrinkUnderTheGuest) {
    START_VHOSTD(vhostd);
    auto client = connect_scsi(vhostd.socket("scsi.0"));
    ASSERT_TRUE(client);
    // A file-backed target, hot-added.
    const std::string file = vhostd.dir() + "/disk.img";
    std::ofstream(file).flush();
    std::filesystem::resize_file(file, 4 * kMiB);
    json created = rpc("bdev_uring_create", {{"name", "Uring0"}, {"filename", file}});
    ASSERT_EQ(created["result"], "Uring0") << created.dump();
    json added = rpc("vhost_scsi_controller_add_target",
                     {{"ctrlr", "scsi.0"}, {"scsi_target_num", 1}, {"bdev_name", "Uring0"}});
    ASSERT_EQ(added["result"], 1) << added.dump();
    ASSERT_TRUE(client->next_event(std::chrono::seconds(5)));  // TRANSPORT_RESET / RESCAN
    ASSERT_TRUE(clear_unit_attentions(*client, 1));

    std::filesystem::resize_file(file, 6 * kMiB);
    json rescanned = rpc("bdev_uring_rescan", {{"name", "Uring0"}});
    ASSERT_EQ(rescanned["result"], true) << rescanned.dump();
    expect_reported(*client, 1, 6 * kMiB / 512);

    std::filesystem::resize_file(file, 2 * kMiB);
    json shrink = rpc("bdev_uring_rescan", {{"name", "Uring0"}});
    ASSERT_TRUE(shrink.contains("error")) << shrink.dump();
    EXPECT_NE(shrink["error"]["message"].get<std::string>().find("in use"), std::string::npos);
    auto cap = client->execute({.target = 1, .cdb = cdb_read_capacity16(), .data_in_length = 32});
    ASSERT_TRUE(cap);
    EXPECT_EQ(be64(cap->data_in, 0), 6 * kMiB / 512 - 1);  // unchanged

    // Once no controller holds it, the bdev may shrink.
    ASSERT_EQ(rpc("vhost_scsi_controller_remove_target",
                  {{"ctrlr", "scsi.0"}, {"scsi_target_num", 1}})["result"],
              true);
    ASSERT_TRUE(client->next_event(std::chrono::seconds(5)));  // TRANSPORT_RESET / REMOVED
    json shrunk = rpc("bdev_uring_rescan", {{"name", "Uring0"}});
    EXPECT_EQ(shrunk["result"], true) << shrunk.dump();
    json bdev = rpc("bdev_get_bdevs", {{"name", "Uring0"}});
    EXPECT_EQ(bdev["result"][0]["num_blocks"], 2 * kMiB / 512) << bdev.dump();
}

}  // namespace
}  // namespace vhostd::testing

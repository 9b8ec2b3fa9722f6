// vhostd's virtio-scsi controller through the frontend library over a real socket: config
// space, commands with data read back, several targets and queues, task management, and
// asynchronous notification queries.
#include <algorithm>
#include <cstring>

#include "scsi_fixtures.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;
namespace vs = virtio_scsi;

constexpr uint64_t kBlocks = 16384;  // 8 MiB of 512-byte blocks

class ScsiIoTest : public ::testing::Test {
  protected:
    VhostdProcess vhostd{
        {.config = make_scsi_config(
             json::array({malloc_bdev("Malloc0", kBlocks), malloc_bdev("Malloc1", kBlocks, 4096)}),
             json::array({scsi_controller("scsi.0"), scsi_target("scsi.0", 0, "Malloc0"),
                          scsi_target("scsi.0", 5, "Malloc1")})),
         .args = {"-m", "0x3"},
         .sockets = {"scsi.0"}}};

    void TearDown() override { EXPECT_EQ(vhostd.stop(), 0) << vhostd.output(); }
};

TEST_F(ScsiIoTest, ConfigAndFeatures) {
    START_VHOSTD(vhostd);
    auto client = connect_scsi(vhostd.socket("scsi.0"), 2);
    ASSERT_TRUE(client);
    const vs::Config& config = client->config();
    EXPECT_GE(config.num_queues, 2U);
    EXPECT_EQ(config.cdb_size, vs::kDefaultCdbSize);
    EXPECT_EQ(config.sense_size, vs::kDefaultSenseSize);
    EXPECT_EQ(config.max_target, 255);
    EXPECT_EQ(config.max_channel, 0);
    EXPECT_EQ(config.event_info_size, sizeof(vs::Event));
    EXPECT_GE(config.seg_max, 126U);
    EXPECT_TRUE(client->has_feature(vs::feature::kHotplug));
    EXPECT_TRUE(client->has_feature(vs::feature::kChange));
    EXPECT_FALSE(client->offered_features() & virtio::bit(vs::feature::kT10Pi));
}

TEST_F(ScsiIoTest, InquiryAndCapacityOfEachTarget) {
    START_VHOSTD(vhostd);
    auto client = connect_scsi(vhostd.socket("scsi.0"));
    ASSERT_TRUE(client);
    for (auto [target, block_size] : {std::pair<uint8_t, uint32_t>{0, 512}, {5, 4096}}) {
        auto inquiry =
            client->execute({.target = target, .cdb = cdb_inquiry(96), .data_in_length = 96});
        ASSERT_TRUE(inquiry) << inquiry.error().describe();
        EXPECT_EQ(inquiry->response, vs::response::kOk);
        ASSERT_EQ(inquiry->status, kGood);
        ASSERT_GE(inquiry->data_in.size(), 36U);
        EXPECT_EQ(std::to_integer<int>(inquiry->data_in[0]) & 0x1f, 0);  // direct access block
        EXPECT_EQ(inquiry->residual, 96 - inquiry->data_in.size());

        ASSERT_TRUE(clear_unit_attentions(*client, target));
        auto capacity =
            client->execute({.target = target, .cdb = cdb_read_capacity16(), .data_in_length = 32});
        ASSERT_TRUE(capacity);
        ASSERT_EQ(capacity->status, kGood);
        const uint64_t blocks = block_size == 512 ? kBlocks : kBlocks;
        EXPECT_EQ(be64(capacity->data_in, 0), blocks - 1);
        EXPECT_EQ(be32(capacity->data_in, 8), block_size);
    }
}

TEST_F(ScsiIoTest, WriteReadRoundTripOnTwoQueues) {
    START_VHOSTD(vhostd);
    auto client = connect_scsi(vhostd.socket("scsi.0"), 2);
    ASSERT_TRUE(client);
    ASSERT_TRUE(clear_unit_attentions(*client, 0));
    const auto data = pattern(7, 32 * 1024);
    auto written =
        client->execute({.target = 0, .cdb = cdb_rw16(true, 100, 64), .data_out = data}, 0);
    ASSERT_TRUE(written);
    ASSERT_EQ(written->response, vs::response::kOk);
    ASSERT_EQ(written->status, kGood);
    auto read = client->execute(
        {.target = 0, .cdb = cdb_rw16(false, 100, 64), .data_in_length = 32 * 1024}, 1);
    ASSERT_TRUE(read);
    ASSERT_EQ(read->status, kGood);
    EXPECT_EQ(read->residual, 0U);
    EXPECT_EQ(read->data_in, data);

    // A read past the end: CHECK CONDITION, ILLEGAL REQUEST, LBA OUT OF RANGE (21h).
    auto beyond = client->execute(
        {.target = 0, .cdb = cdb_rw16(false, kBlocks - 1, 2), .data_in_length = 1024});
    ASSERT_TRUE(beyond);
    EXPECT_EQ(beyond->response, vs::response::kOk);
    EXPECT_EQ(beyond->status, kCheckCondition);
    EXPECT_EQ(beyond->sense_key(), 0x5);
    EXPECT_EQ(beyond->asc(), 0x21);
}

TEST_F(ScsiIoTest, UnmapZeroesBlocks) {
    START_VHOSTD(vhostd);
    auto client = connect_scsi(vhostd.socket("scsi.0"));
    ASSERT_TRUE(client);
    ASSERT_TRUE(clear_unit_attentions(*client, 0));
    const auto data = pattern(3, 8 * 512);
    ASSERT_EQ(client->execute({.target = 0, .cdb = cdb_rw16(true, 8, 8), .data_out = data})->status,
              kGood);
    // UNMAP parameter list: header + one descriptor (LBA 8, 8 blocks).
    std::vector<std::byte> list(24);
    list[1] = std::byte{22};
    list[3] = std::byte{16};
    list[8 + 7] = std::byte{8};
    list[8 + 11] = std::byte{8};
    auto unmapped = client->execute({.target = 0, .cdb = cdb_unmap(24), .data_out = list});
    ASSERT_TRUE(unmapped);
    ASSERT_EQ(unmapped->status, kGood) << "sense key " << int(unmapped->sense_key());
    auto read =
        client->execute({.target = 0, .cdb = cdb_rw16(false, 8, 8), .data_in_length = 8 * 512});
    ASSERT_TRUE(read);
    EXPECT_EQ(read->data_in, std::vector<std::byte>(8 * 512));
}

TEST_F(ScsiIoTest, BadAddressing) {
    START_VHOSTD(vhostd);
    auto client = connect_scsi(vhostd.socket("scsi.0"));
    ASSERT_TRUE(client);
    // No target 1.
    auto missing = client->execute({.target = 1, .cdb = cdb_inquiry(36), .data_in_length = 36});
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->response, vs::response::kBadTarget);
    // LUN fields that break 5.6.6.1's format.
    for (std::array<uint8_t, 8> field : {std::array<uint8_t, 8>{2, 0, 0x40, 0, 0, 0, 0, 0},
                                         std::array<uint8_t, 8>{1, 0, 0x80, 0, 0, 0, 0, 0},
                                         std::array<uint8_t, 8>{1, 0, 0x40, 0, 0, 0, 1, 0}}) {
        auto bad =
            client->execute({.cdb = cdb_inquiry(36), .data_in_length = 36, .raw_lun = field});
        ASSERT_TRUE(bad);
        EXPECT_EQ(bad->response, vs::response::kBadTarget);
    }
    // A LUN the target does not have: INQUIRY says "no device here" (qualifier 011b), other
    // commands fail with LOGICAL UNIT NOT SUPPORTED (25h).
    auto inquiry =
        client->execute({.target = 0, .lun = 3, .cdb = cdb_inquiry(36), .data_in_length = 36});
    ASSERT_TRUE(inquiry);
    ASSERT_EQ(inquiry->status, kGood);
    EXPECT_EQ(std::to_integer<int>(inquiry->data_in.at(0)) >> 5, 3);
    auto tur = client->execute({.target = 0, .lun = 3, .cdb = cdb_test_unit_ready()});
    ASSERT_TRUE(tur);
    EXPECT_EQ(tur->status, kCheckCondition);
    EXPECT_EQ(tur->asc(), 0x25);
}

TEST_F(ScsiIoTest, TaskManagement) {
    START_VHOSTD(vhostd);
    auto client = connect_scsi(vhostd.socket("scsi.0"), 2);
    ASSERT_TRUE(client);
    ASSERT_TRUE(clear_unit_attentions(*client, 0));
    // Commands in flight on both queues while task management runs: every one completes,
    // either normally or aborted, and the TMF answers after them.
    const auto data = pattern(9, 16 * 1024);
    std::vector<uint16_t> handles[2];
    for (uint16_t q = 0; q < 2; ++q) {
        for (uint64_t i = 0; i < 8; ++i) {
            auto h = client->submit(
                {.target = 0, .cdb = cdb_rw16(true, 64 * i, 32), .data_out = data, .tag = i}, q);
            ASSERT_TRUE(h);
            handles[q].push_back(*h);
        }
    }
    auto abort_task = client->task_management(vs::tmf::kAbortTask, 0, 0, 3);
    ASSERT_TRUE(abort_task);
    EXPECT_EQ(*abort_task, vs::response::kFunctionComplete);
    auto abort_set = client->task_management(vs::tmf::kAbortTaskSet, 0, 0);
    ASSERT_TRUE(abort_set);
    EXPECT_EQ(*abort_set, vs::response::kFunctionComplete);
    for (uint16_t q = 0; q < 2; ++q) {
        for (uint16_t h : handles[q]) {
            auto done = client->wait(h, q);
            ASSERT_TRUE(done) << done.error().describe();
            EXPECT_TRUE(done->response == vs::response::kOk ||
                        done->response == vs::response::kAborted);
        }
    }
    // LOGICAL UNIT RESET: answered, then a reset unit attention (29h).
    auto reset = client->task_management(vs::tmf::kLogicalUnitReset, 0, 0);
    ASSERT_TRUE(reset);
    EXPECT_EQ(*reset, vs::response::kFunctionComplete);
    auto tur = client->execute({.target = 0, .cdb = cdb_test_unit_ready()});
    ASSERT_TRUE(tur);
    EXPECT_EQ(tur->status, kCheckCondition);
    EXPECT_EQ(tur->sense_key(), 0x6);
    EXPECT_EQ(tur->asc(), 0x29);
    auto nexus = client->task_management(vs::tmf::kITNexusReset, 5, 0);
    ASSERT_TRUE(nexus);
    EXPECT_EQ(*nexus, vs::response::kFunctionComplete);
    // Unsupported functions are rejected; missing targets are reported.
    EXPECT_EQ(client->task_management(vs::tmf::kClearAca, 0, 0).value(),
              vs::response::kFunctionRejected);
    EXPECT_EQ(client->task_management(vs::tmf::kQueryTask, 0, 0).value(),
              vs::response::kFunctionRejected);
    EXPECT_EQ(client->task_management(vs::tmf::kAbortTaskSet, 9, 0).value(),
              vs::response::kBadTarget);
    // 5.6.6.2.1: no asynchronous notification is supported.
    auto an = client->async_notification(false, 0, 0xff);
    ASSERT_TRUE(an);
    EXPECT_EQ(an->response, vs::response::kOk);
    EXPECT_EQ(an->event_actual, 0U);
    auto sub = client->async_notification(true, 0, 0x10);
    ASSERT_TRUE(sub);
    EXPECT_EQ(sub->event_actual, 0U);
    // The controller still works.
    auto read = client->execute(
        {.target = 0, .cdb = cdb_rw16(false, 0, 32), .data_in_length = 16 * 1024}, 1);
    ASSERT_TRUE(read);
    EXPECT_EQ(read->response, vs::response::kOk);
}

}  // namespace
}  // namespace vhostd::testing

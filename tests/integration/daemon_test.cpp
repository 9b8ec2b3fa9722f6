// The daemon as a whole: default setup, config errors, several controllers, frontends that
// disconnect mid-I/O or arrive twice, and orderly shutdown on SIGTERM.
#include <array>
#include <cstring>
#include <fstream>

#include <sys/stat.h>

#include "fixtures.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

TEST(Daemon, DefaultSetupServesARamDiskAndPrintsHowToAttach) {
    VhostdProcess vhostd({.sockets = {"vhost.0"}});
    START_VHOSTD(vhostd);
    EXPECT_NE(vhostd.output().find("-device vhost-user-blk-pci,chardev=char0"), std::string::npos);
    EXPECT_NE(vhostd.output().find(vhostd.socket("vhost.0")), std::string::npos);
    auto client = connect_client(client_options(vhostd.socket("vhost.0")));
    ASSERT_TRUE(client);
    EXPECT_EQ(client->config().capacity, 131072U);  // 64 MiB
    const auto data = pattern(1, 4096);
    ASSERT_EQ(client->write(0, data).value(), kOk);
    client.reset();
    EXPECT_EQ(vhostd.stop(), 0);
    EXPECT_FALSE(exists(vhostd.socket("vhost.0")));
}

struct BadConfig {
    const char* name;
    json config;
    std::vector<std::string> expected;  // substrings of the one error line
    friend void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.name; }
};

class DaemonBadConfig : public ::testing::TestWithParam<BadConfig> {};

TEST_P(DaemonBadConfig, ExitsWithCode2AndOneClearLine) {
    VhostdProcess vhostd({.config = GetParam().config});
    vhostd.launch();
    EXPECT_EQ(vhostd.wait_exit(std::chrono::seconds(10)), 2);
    const std::string out = vhostd.output();
    const std::string last = out.substr(out.rfind("vhostd: "));
    EXPECT_EQ(std::count(last.begin(), last.end(), '\n'), 1) << out;
    EXPECT_NE(last.find("vhostd.json"), std::string::npos) << last;
    for (const auto& s : GetParam().expected) {
        EXPECT_NE(last.find(s), std::string::npos) << "missing '" << s << "' in: " << last;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DaemonBadConfig,
    ::testing::Values(
        BadConfig{"wrong_type",
                  make_config(json::array({json{
                                  {"method", "bdev_malloc_create"},
                                  {"params",
                                   {{"name", "M"}, {"num_blocks", "lots"}, {"block_size", 512}}}}}),
                              json::array()),
                  {"bdev_malloc_create", "params.num_blocks", "call #1"}},
        BadConfig{"missing_field",
                  make_config(json::array({malloc_bdev("M", 64)}),
                              json::array({json{{"method", "vhost_create_blk_controller"},
                                                {"params", {{"ctrlr", "c"}}}}})),
                  {"vhost_create_blk_controller", "params.dev_name"}},
        BadConfig{"unknown_bdev",
                  make_config(json::array(), json::array({blk_controller("c", "Nope")})),
                  {"vhost_create_blk_controller", "Nope"}},
        BadConfig{
            "unknown_method",
            make_config(json::array({json{{"method", "bdev_teleport_create"}}}), json::array()),
            {"bdev_teleport_create", "Method not found"}},
        BadConfig{
            "unknown_param",
            make_config(json::array({json{
                            {"method", "bdev_malloc_create"},
                            {"params", {{"num_blocks", 8}, {"block_size", 512}, {"colour", 1}}}}}),
                        json::array()),
            {"params.colour"}},
        BadConfig{"cpumask_outside_reactors",
                  make_config(json::array({malloc_bdev("M", 64)}),
                              json::array({blk_controller("c", "M", {{"cpumask", "0x4"}})})),
                  {"cpumask"}},
        BadConfig{
            "duplicate_bdev",
            make_config(json::array({malloc_bdev("M", 64), malloc_bdev("M", 64)}), json::array()),
            {"call #2", "M"}},
        BadConfig{"not_spdk_format", json{{"bdevs", json::array()}}, {"subsystems"}}),
    [](const ::testing::TestParamInfo<BadConfig>& test) { return std::string(test.param.name); });

TEST(Daemon, TwoControllersAtOnceKeepTheirDataApart) {
    VhostdProcess vhostd(
        {.config =
             make_config(json::array({malloc_bdev("Malloc0", 2048), malloc_bdev("Malloc1", 2048)}),
                         json::array({blk_controller("vhost.0", "Malloc0"),
                                      blk_controller("vhost.1", "Malloc1")})),
         .sockets = {"vhost.0", "vhost.1"}});
    START_VHOSTD(vhostd);
    auto a = connect_client(client_options(vhostd.socket("vhost.0")));
    auto b = connect_client(client_options(vhostd.socket("vhost.1")));
    ASSERT_TRUE(a && b);
    const auto da = pattern(100, 8192), db = pattern(200, 8192);
    ASSERT_EQ(a->write(16, da).value(), kOk);
    ASSERT_EQ(b->write(16, db).value(), kOk);
    std::vector<std::byte> back(8192);
    ASSERT_EQ(a->read(16, back).value(), kOk);
    EXPECT_EQ(back, da);
    ASSERT_EQ(b->read(16, back).value(), kOk);
    EXPECT_EQ(back, db);
    std::string id;
    ASSERT_EQ(b->get_id(id).value(), kOk);
    EXPECT_EQ(id, "Malloc1");
    a.reset();
    b.reset();
    EXPECT_EQ(vhostd.stop(), 0);
}

TEST(Daemon, FrontendDisconnectingMidIoThenReconnecting) {
    VhostdProcess vhostd(
        {.config = make_config(json::array({malloc_bdev("Malloc0", 65536)}),
                               json::array({blk_controller("vhost.0", "Malloc0")})),
         .sockets = {"vhost.0"}});
    START_VHOSTD(vhostd);
    const auto data = pattern(4, 64 * 1024);
    for (int round = 0; round < 5; ++round) {
        auto options = client_options(vhostd.socket("vhost.0"), 2);
        options.indirect = true;  // one descriptor per request: the whole ring can be in flight
        auto client = connect_client(options);
        ASSERT_TRUE(client) << "round " << round;
        // The previous round's acknowledged write is intact.
        if (round > 0) {
            std::vector<std::byte> back(data.size());
            ASSERT_EQ(client->read(0, back).value(), kOk);
            EXPECT_EQ(back, data);
        }
        ASSERT_EQ(client->write(0, data).value(), kOk);
        // Fill both queues with writes and walk away without waiting for them.
        for (uint16_t q = 0; q < 2; ++q) {
            auto buf = client->ram().alloc(64 * 1024, 4096).value();
            for (uint64_t i = 0; i < 64; ++i) {
                const frontend::DataSegment seg{buf.gpa, 64 * 1024};
                ASSERT_TRUE(client->queue(q).submit_write(i, 1024 + i * 128, {&seg, 1}));
            }
            client->queue(q).kick();
        }
        client->disconnect();
    }
    EXPECT_TRUE(vhostd.running());
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
}

TEST(Daemon, SecondConcurrentFrontendIsTurnedAway) {
    VhostdProcess vhostd(
        {.config = make_config(json::array({malloc_bdev("Malloc0", 2048)}),
                               json::array({blk_controller("vhost.0", "Malloc0")})),
         .sockets = {"vhost.0"}});
    START_VHOSTD(vhostd);
    auto first = connect_client(client_options(vhostd.socket("vhost.0")));
    ASSERT_TRUE(first);
    auto options = client_options(vhostd.socket("vhost.0"));
    options.connection.timeout = std::chrono::milliseconds(2000);
    auto second = frontend::BlkClient::connect(options);
    EXPECT_FALSE(second.has_value());
    // The first frontend is unaffected.
    const auto data = pattern(8, 4096);
    EXPECT_EQ(first->write(0, data).value(), kOk);
    first.reset();
    EXPECT_EQ(vhostd.stop(), 0);
}

TEST(Daemon, SigtermWithAFrontendAttachedDrainsAndExitsCleanly) {
    VhostdProcess vhostd(
        {.config = make_config(json::array({malloc_bdev("Malloc0", 65536)}),
                               json::array({blk_controller("vhost.0", "Malloc0")})),
         .sockets = {"vhost.0"}});
    START_VHOSTD(vhostd);
    auto options = client_options(vhostd.socket("vhost.0"));
    options.indirect = true;
    auto client = connect_client(options);
    ASSERT_TRUE(client);
    auto buf = client->ram().alloc(128 * 1024, 4096).value();
    for (uint64_t i = 0; i < 100; ++i) {
        const frontend::DataSegment seg{buf.gpa, 128 * 1024};
        ASSERT_TRUE(client->queue(0).submit_write(i, i * 256, {&seg, 1}));
    }
    client->queue(0).kick();
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
    EXPECT_FALSE(exists(vhostd.socket("vhost.0")));
    // Every request vhostd took from the ring was completed before it exited.
    std::array<virtio::VringUsedElem, 128> used{};
    const size_t completed = client->queue(0).ring().poll_raw(used);
    for (size_t i = 0; i < completed; ++i)
        EXPECT_EQ(used[i].len, 1U);
}

}  // namespace
}  // namespace vhostd::testing

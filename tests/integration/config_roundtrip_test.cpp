// save_config round trip: what is created by RPC, saved, and loaded into a new vhostd with -c
// is listed identically by bdev_get_bdevs and vhost_get_controllers (UUIDs included).
#include <fstream>

#include "fixtures.hpp"
#include "rpc_test_util.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;

// Controllers listed without the parts that name the process's scratch directory.
json without_sockets(json controllers) {
    for (json& c : controllers) {
        c.erase("socket");
    }
    return controllers;
}

TEST(ConfigRoundTrip, SavedConfigRecreatesTheSameSetup) {
    VhostdProcess first({.sockets = {"vhost.0"}});
    START_VHOSTD(first);
    const std::string file = first.dir() + "/disk.img";
    std::ofstream(file).close();
    ASSERT_EQ(::truncate(file.c_str(), 2 << 20), 0);
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"bdev_malloc_create", "-b", "Malloc1", "16", "4096"},
             {"bdev_null_create", "Null0", "32", "512"},
             {"bdev_uring_create", file, "Uring0", "512"},
             {"vhost_create_blk_controller", "vhost.1", "Malloc1", "--cpumask", "0x1"},
             {"vhost_create_blk_controller", "vhost.2", "Uring0", "-r", "--packed_ring"},
         }) {
        const CommandResult r = vhostctl(first, args);
        ASSERT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    }
    const CommandResult saved = vhostctl(first, {"save_config"});
    ASSERT_EQ(saved.exit_code, 0) << saved.err;
    const json config = json::parse(saved.out);
    ASSERT_EQ(config["subsystems"][0]["subsystem"], "bdev");
    ASSERT_EQ(config["subsystems"][1]["subsystem"], "vhost_blk");
    // vhost.2 offers packed virtqueues; the others do not say so (SPDK's default).
    EXPECT_EQ(config["subsystems"][1]["config"][2]["params"]["packed_ring"], true) << config.dump();
    EXPECT_FALSE(config["subsystems"][1]["config"][1]["params"].contains("packed_ring"));
    // rpc.py builds the same document from these two methods.
    EXPECT_EQ(vhostctl_json(first, {"framework_get_config", "bdev"}),
              config["subsystems"][0]["config"]);
    EXPECT_EQ(vhostctl_json(first, {"framework_get_subsystems"})[1]["subsystem"], "vhost_blk");

    const json bdevs = vhostctl_json(first, {"bdev_get_bdevs"});
    const json controllers = vhostctl_json(first, {"vhost_get_controllers"});
    ASSERT_EQ(bdevs.size(), 4U);
    ASSERT_EQ(controllers.size(), 3U);
    EXPECT_EQ(first.stop(), 0);

    VhostdProcess second({.config = config, .sockets = {"vhost.0", "vhost.1", "vhost.2"}});
    START_VHOSTD(second);
    EXPECT_EQ(vhostctl_json(second, {"bdev_get_bdevs"}), bdevs);
    EXPECT_EQ(without_sockets(vhostctl_json(second, {"vhost_get_controllers"})),
              without_sockets(controllers));
    // Saving again gives the same document: the round trip is a fixed point.
    EXPECT_EQ(vhostctl_json(second, {"save_config"}), config);
}

TEST(ConfigRoundTrip, ConfigsWithBatchesLoadAndSaveFlat) {
    // Current SPDK may save some calls as a batch (an array inside "config"); it loads, and
    // vhostd saves the calls one by one (what framework_get_config without with_batches
    // gives).
    const json batch = json::array({malloc_bdev("Malloc0", 256), malloc_bdev("Malloc1", 256)});
    json config = make_config(json::array({batch, malloc_bdev("Malloc2", 256)}),
                              json::array({blk_controller("vhost.0", "Malloc1")}));
    VhostdProcess vhostd({.config = config, .sockets = {"vhost.0"}});
    START_VHOSTD(vhostd);
    const json bdevs = vhostctl_json(vhostd, {"bdev_get_bdevs"});
    ASSERT_EQ(bdevs.size(), 3U);
    EXPECT_EQ(bdevs[0]["name"], "Malloc0");
    EXPECT_EQ(bdevs[2]["name"], "Malloc2");
    const json saved = vhostctl_json(vhostd, {"save_config"});
    EXPECT_EQ(saved["subsystems"][0]["config"].size(), 3U) << saved.dump();
    EXPECT_TRUE(saved["subsystems"][0]["config"][0].is_object());
    EXPECT_EQ(vhostd.stop(), 0);

    config["subsystems"][0]["config"][0] = json::array();  // an empty batch is an error
    VhostdProcess bad({.config = config});
    bad.launch();
    EXPECT_EQ(bad.wait_exit(std::chrono::seconds(20)), 2) << bad.output();
    EXPECT_NE(bad.output().find("empty batch"), std::string::npos) << bad.output();
}

}  // namespace
}  // namespace vhostd::testing

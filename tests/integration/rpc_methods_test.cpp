// Every method through vhostctl (rpc.py's argument style): success paths with SPDK's result
// shapes, and error paths with a non-zero exit and the server's message.
#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "fixtures.hpp"
#include "rpc_test_util.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;

class RpcMethods : public ::testing::Test {
  protected:
    void SetUp() override { START_VHOSTD(vhostd_); }

    // Runs vhostctl and expects success; returns its stdout.
    std::string ok(const std::vector<std::string>& args) {
        const CommandResult r = vhostctl(vhostd_, args);
        EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
        return r.out;
    }
    // Runs vhostctl and expects failure whose message contains `expected`.
    void fails(const std::vector<std::string>& args, const std::string& expected) {
        const CommandResult r = vhostctl(vhostd_, args);
        EXPECT_NE(r.exit_code, 0) << args[0] << " succeeded: " << r.out;
        EXPECT_NE(r.err.find(expected), std::string::npos)
            << args[0] << ": '" << expected << "' not in: " << r.err;
    }

    VhostdProcess vhostd_{{.sockets = {"vhost.0"}}};
};

TEST_F(RpcMethods, MallocLifecycleInRpcPysArgumentStyle) {
    EXPECT_EQ(ok({"bdev_malloc_create", "-b", "Malloc1", "8", "4096"}), "Malloc1\n");
    const json bdevs = vhostctl_json(vhostd_, {"bdev_get_bdevs", "-b", "Malloc1"});
    ASSERT_EQ(bdevs.size(), 1U);
    const json& b = bdevs[0];
    EXPECT_EQ(b["num_blocks"], 2048);  // 8 MiB of 4 KiB blocks
    EXPECT_EQ(b["block_size"], 4096);
    EXPECT_EQ(b["product_name"], "Malloc disk");
    EXPECT_EQ(b["claimed"], false);
    EXPECT_EQ(b["driver_specific"]["malloc"]["num_blocks"], 2048);
    for (const char* key :
         {"aliases", "uuid", "assigned_rate_limits", "zoned", "supported_io_types"}) {
        EXPECT_TRUE(b.contains(key)) << key;
    }
    EXPECT_EQ(b["supported_io_types"]["unmap"], true);
    // The same bdev by UUID, as SPDK allows.
    EXPECT_EQ(vhostctl_json(vhostd_, {"bdev_get_bdevs", "-b", b["uuid"]})[0]["name"], "Malloc1");

    fails({"bdev_malloc_create", "-b", "Malloc1", "8", "512"}, "already exists");
    EXPECT_EQ(ok({"bdev_malloc_create", "4", "512"}), "Malloc2\n");  // SPDK's default names
    ok({"bdev_malloc_delete", "Malloc1"});
    fails({"bdev_get_bdevs", "-b", "Malloc1"}, "not found");
    fails({"bdev_malloc_delete", "Malloc1"}, "not found");
    EXPECT_EQ(vhostctl_json(vhostd_, {"bdev_get_bdevs"}).size(), 2U);  // Malloc0, Malloc2
}

TEST_F(RpcMethods, NullAndUringBdevs) {
    EXPECT_EQ(ok({"bdev_null_create", "Null0", "16", "512", "-u",
                  "1b2c3d4e-0000-4000-8000-000000000001"}),
              "Null0\n");
    const json null = vhostctl_json(vhostd_, {"bdev_get_bdevs", "-b", "Null0"});
    EXPECT_EQ(null[0]["uuid"], "1b2c3d4e-0000-4000-8000-000000000001");
    EXPECT_EQ(null[0]["num_blocks"], 32768);
    EXPECT_EQ(ok({"bdev_null_resize", "Null0", "32"}), "true\n");
    EXPECT_EQ(vhostctl_json(vhostd_, {"bdev_get_bdevs", "-b", "Null0"})[0]["num_blocks"], 65536);
    fails({"bdev_null_resize", "Null0", "8"}, "must not be smaller");
    fails({"bdev_malloc_delete", "Null0"}, "not a malloc bdev");
    ok({"bdev_null_delete", "Null0"});

    const std::string file = vhostd_.dir() + "/disk.img";
    std::ofstream(file).close();
    ASSERT_EQ(::truncate(file.c_str(), 4 << 20), 0);
    EXPECT_EQ(ok({"bdev_uring_create", file, "Uring0", "512"}), "Uring0\n");
    const json uring = vhostctl_json(vhostd_, {"bdev_get_bdevs", "-b", "Uring0"});
    EXPECT_EQ(uring[0]["driver_specific"]["uring"]["filename"], file);
    EXPECT_EQ(uring[0]["num_blocks"], 8192);
    ASSERT_EQ(::truncate(file.c_str(), 8 << 20), 0);
    ok({"bdev_uring_rescan", "Uring0"});
    EXPECT_EQ(vhostctl_json(vhostd_, {"bdev_get_bdevs", "-b", "Uring0"})[0]["num_blocks"], 16384);
    ok({"bdev_uring_delete", "Uring0"});
    fails({"bdev_uring_create", vhostd_.dir() + "/missing.img", "Uring1"}, "missing.img");
}

TEST_F(RpcMethods, ControllersAndWhoHoldsWhat) {
    ok({"bdev_malloc_create", "-b", "Malloc1", "8", "512"});
    ok({"vhost_create_blk_controller", "vhost.1", "Malloc1", "--cpumask", "0x1", "-r"});
    const json all = vhostctl_json(vhostd_, {"vhost_get_controllers"});
    ASSERT_EQ(all.size(), 2U);
    const json one = vhostctl_json(vhostd_, {"vhost_get_controllers", "-n", "vhost.1"});
    ASSERT_EQ(one.size(), 1U);
    const json& c = one[0];
    EXPECT_EQ(c["ctrlr"], "vhost.1");
    EXPECT_EQ(c["cpumask"], "0x1");
    EXPECT_EQ(c["socket"], vhostd_.socket("vhost.1"));
    EXPECT_EQ(c["delay_base_us"], 0);
    EXPECT_TRUE(c.contains("iops_threshold"));
    EXPECT_EQ(c["sessions"], json::array());
    EXPECT_EQ(c["backend_specific"]["block"],
              json({{"readonly", true}, {"bdev", "Malloc1"}, {"transport", "vhost_user_blk"}}));
    EXPECT_EQ(vhostctl_json(vhostd_, {"bdev_get_bdevs", "-b", "Malloc1"})[0]["claimed"], true);

    fails({"vhost_create_blk_controller", "vhost.1", "Malloc0"}, "already exists");
    fails({"vhost_create_blk_controller", "vhost.9", "Malloc9"}, "Malloc9 not found");
    fails({"vhost_create_blk_controller", "vhost.9", "Malloc0", "--cpumask", "0x4"},
          "not within the reactor mask");
    fails({"vhost_create_blk_controller", "vhost.9", "Malloc1"}, "in use by vhost controller");
    fails({"bdev_malloc_delete", "Malloc1"}, "in use by vhost controller vhost.1");
    fails({"vhost_get_controllers", "-n", "vhost.9"}, "not found");

    // Attached frontends pin their controller.
    auto client = connect_client(client_options(vhostd_.socket("vhost.1")));
    ASSERT_TRUE(client);
    EXPECT_EQ(
        vhostctl_json(vhostd_, {"vhost_get_controllers", "-n", "vhost.1"})[0]["sessions"].size(),
        1U);
    fails({"vhost_delete_controller", "vhost.1"}, "connected frontend");
    client.reset();
    for (int i = 0;
         i < 100 && vhostctl(vhostd_, {"vhost_delete_controller", "vhost.1"}).exit_code != 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the disconnect lands
    }
    EXPECT_EQ(vhostctl_json(vhostd_, {"vhost_get_controllers"}).size(), 1U);
    ok({"bdev_malloc_delete", "Malloc1"});  // released with its controller
    fails({"vhost_delete_controller", "vhost.1"}, "not found");
}

TEST_F(RpcMethods, ApplicationMethods) {
    const json methods = vhostctl_json(vhostd_, {"rpc_get_methods"});
    for (const char* m :
         {"rpc_get_methods", "spdk_get_version", "framework_get_reactors", "bdev_malloc_create",
          "bdev_malloc_delete", "bdev_null_create", "bdev_null_delete", "bdev_uring_create",
          "bdev_uring_delete", "bdev_get_bdevs", "vhost_create_blk_controller",
          "vhost_delete_controller", "vhost_get_controllers", "save_config", "log_set_level",
          "log_get_level", "framework_get_subsystems", "framework_get_config"}) {
        EXPECT_NE(std::find(methods.begin(), methods.end(), m), methods.end()) << m;
    }
    EXPECT_EQ(vhostctl_json(vhostd_, {"spdk_get_version"})["version"], "vhostd v0.1.0");
    const json reactors = vhostctl_json(vhostd_, {"framework_get_reactors"});
    ASSERT_EQ(reactors["reactors"].size(), 1U);
    EXPECT_EQ(reactors["reactors"][0]["lcore"], 0);
    EXPECT_EQ(reactors["reactors"][0]["lw_threads"][0]["name"], "vhost.0");
    // Busy and idle time in ns, as SPDK reports them in ticks of tick_rate.
    EXPECT_EQ(reactors["tick_rate"], 1'000'000'000);
    for (const char* counter : {"busy", "idle", "busy_iterations", "idle_iterations"}) {
        EXPECT_TRUE(reactors["reactors"][0][counter].is_number_unsigned()) << counter;
    }

    EXPECT_EQ(ok({"log_get_level"}), "INFO\n");
    ok({"log_set_level", "DEBUG"});
    EXPECT_EQ(ok({"log_get_level"}), "DEBUG\n");
    ok({"log_set_print_level", "warning"});
    EXPECT_EQ(ok({"log_get_print_level"}), "WARNING\n");
    fails({"log_set_level", "LOUD"}, "params.level");
    ok({"log_set_flag", "rpc"});
    EXPECT_EQ(vhostctl_json(vhostd_, {"log_get_flags"})["rpc"], true);
    ok({"log_clear_flag", "rpc"});
    fails({"log_set_flag", "nonsense"}, "unknown log flag");
}

TEST_F(RpcMethods, StatShowsLiveNumbersDuringIo) {
    const json methods = vhostctl_json(vhostd_, {"rpc_get_methods"});
    if (std::find(methods.begin(), methods.end(), "bdev_get_iostat") == methods.end()) {
        GTEST_SKIP() << "bdev_get_iostat is not served by this build";
    }
    auto client = connect_client(client_options(vhostd_.socket("vhost.0")));
    ASSERT_TRUE(client);
    std::atomic<bool> stop{false};
    std::thread io([&] {
        const auto data = pattern(3, 4096);
        for (uint64_t i = 0; !stop; ++i) {
            (void)client->write((i * 8) % 4096, data);
        }
    });
    const CommandResult r = vhostctl(vhostd_, {"stat", "-i", "0.3", "-n", "2"});
    stop = true;
    io.join();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Two intervals: a header and a Malloc0 line each, with I/O counted.
    std::istringstream lines(r.out);
    std::string line;
    int rows = 0;
    while (std::getline(lines, line)) {
        if (line.rfind("Malloc0", 0) == 0) {
            ++rows;
            std::istringstream fields(line.substr(7));
            double iops = 0;
            double mib_s = 0;
            fields >> iops >> mib_s;
            EXPECT_GT(iops, 0) << line;
            EXPECT_GT(mib_s, 0) << line;
        }
    }
    EXPECT_EQ(rows, 2) << r.out;
}

TEST_F(RpcMethods, ClientSideErrors) {
    const CommandResult r = vhostctl(vhostd_, {"bdev_malloc_create", "-b", "X"});
    EXPECT_NE(r.exit_code, 0);  // positional arguments missing
    EXPECT_EQ(vhostctl(vhostd_, {"bdev_malloc_create", "--help"}).exit_code, 0);
    VhostdProcess none({});
    const CommandResult down = vhostctl(none, {"spdk_get_version"});
    EXPECT_NE(down.exit_code, 0);
    EXPECT_NE(down.err.find("cannot connect"), std::string::npos) << down.err;
}

}  // namespace
}  // namespace vhostd::testing

// SPDK's own rpc.py drives every nvmf method vhostd has (only when SPDK_DIR names an SPDK
// tree with scripts/rpc.py; skipped otherwise: the suite never needs SPDK).
#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/stat.h>
#include <sys/wait.h>

#include "fixtures.hpp"
#include "rpc_test_util.hpp"

namespace vhostd::testing {
namespace {

using nlohmann::json;

struct RpcPyRun {
    int status = -1;
    std::string out;
};

std::string quote(const std::string& arg) {
    std::string out = "'";
    for (char c : arg) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

RpcPyRun rpc_py(const std::string& spdk, const VhostdProcess& vhostd,
                const std::vector<std::string>& args) {
    // SPDK's rpc.py wants the system python (PATH=/usr/bin first).
    std::string command = "PATH=/usr/bin:$PATH " + quote(spdk + "/scripts/rpc.py") + " -s " +
                          quote(vhostd.rpc_socket());
    for (const std::string& arg : args) {
        command += " " + quote(arg);
    }
    command += " 2>&1";
    RpcPyRun run;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        return run;
    }
    char buffer[4096];
    size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
        run.out.append(buffer, n);
    }
    const int status = ::pclose(pipe);
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
}

TEST(NvmfSpdkRpc, RpcPyDrivesEveryMethod) {
    const char* spdk = std::getenv("SPDK_DIR");
    if (spdk == nullptr || *spdk == '\0') {
        GTEST_SKIP() << "SPDK_DIR is not set";
    }
    VhostdProcess vhostd({.config = make_config(json::array({malloc_bdev("Malloc0", 2048, 512),
                                                             malloc_bdev("Malloc1", 2048, 512)}),
                                                json::array())});
    START_VHOSTD(vhostd);
    const std::string dir = vhostd.dir() + "/nvme0";
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
    const std::string nqn = "nqn.2019-07.io.spdk:cnode0";
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"nvmf_set_max_subsystems", "-x", "64"},
             {"nvmf_create_transport", "-t", "VFIOUSER", "-M", "-S", "-q", "128", "-m", "8"},
             {"nvmf_get_transports"},
             {"nvmf_create_subsystem", nqn, "-a", "-s", "SPDK0", "-d", "model x"},
             {"nvmf_subsystem_add_host", nqn,
              "nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427"},
             {"nvmf_subsystem_allow_any_host", nqn, "--no-allow-any-host"},
             {"nvmf_subsystem_remove_host", nqn,
              "nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1-41d2-883f-0016d3cca427"},
             {"nvmf_subsystem_add_ns", nqn, "Malloc0"},
             {"nvmf_subsystem_add_ns", "-n", "3", "-u", "5e6b5a3e-1c34-4a9a-a4f4-3e0cf1c3b0a1", nqn,
              "Malloc1"},
             {"nvmf_subsystem_add_listener", nqn, "-t", "VFIOUSER", "-a", dir, "-s", "0"},
             {"nvmf_get_subsystems"},
             {"nvmf_subsystem_get_listeners", nqn},
             {"nvmf_subsystem_get_controllers", nqn},
             {"nvmf_subsystem_get_qpairs", nqn},
             {"nvmf_get_stats"},
             {"save_config"},
             {"nvmf_subsystem_remove_ns", nqn, "3"},
             {"nvmf_subsystem_remove_listener", nqn, "-t", "VFIOUSER", "-a", dir, "-s", "0"},
             {"nvmf_delete_subsystem", nqn},
         }) {
        const RpcPyRun run = rpc_py(spdk, vhostd, args);
        EXPECT_EQ(run.status, 0) << args[0] << ":\n" << run.out;
    }
    EXPECT_EQ(vhostctl_json(vhostd, {"nvmf_get_subsystems"}).size(), 1U);
}

}  // namespace
}  // namespace vhostd::testing

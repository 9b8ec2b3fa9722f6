// NvmfFixture: a vhostd with Malloc0 (512-byte blocks) and Malloc1 (4 KiB blocks) and an NVMe
// controller made the way an SPDK user makes one (nvmf_create_transport, nvmf_create_subsystem
// kNvmfTestNqn, Malloc0 as namespace 1, a VFIOUSER listener on dir_), for the tests that drive
// it over vfio-user.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "fixtures.hpp"
#include "rpc_test_util.hpp"

namespace vhostd::testing {

inline const std::string kNvmfTestNqn = "nqn.2019-07.io.vhostd:cnode1";

class NvmfFixture : public ::testing::Test {
  protected:
    // vhostd with `args`, Malloc0 of `malloc0_blocks`; the listener's directory made.
    void start(uint64_t malloc0_blocks = 2048, std::vector<std::string> args = {}) {
        vhostd_ = std::make_unique<VhostdProcess>(VhostdProcess::Options{
            .config =
                make_config(nlohmann::json::array({malloc_bdev("Malloc0", malloc0_blocks, 512),
                                                   malloc_bdev("Malloc1", 4096, 4096)}),
                            nlohmann::json::array()),
            .args = std::move(args)});
        START_VHOSTD(*vhostd_);
        dir_ = vhostd_->dir() + "/nvme0";
        ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
    }

    void rpc_ok(const std::vector<std::string>& args) {
        const CommandResult r = vhostctl(*vhostd_, args);
        ASSERT_EQ(r.exit_code, 0) << args[0] << ": " << r.err << "\n" << vhostd_->output();
    }

    // Transport (with `transport_flags`: -M trapped doorbells, -S no shadow doorbells...),
    // subsystem, Malloc0 as namespace 1, listener.
    void create(const std::vector<std::string>& transport_flags = {}) {
        std::vector<std::string> transport = {"nvmf_create_transport", "-t", "VFIOUSER"};
        transport.insert(transport.end(), transport_flags.begin(), transport_flags.end());
        ASSERT_NO_FATAL_FAILURE(rpc_ok(transport));
        ASSERT_NO_FATAL_FAILURE(rpc_ok({"nvmf_create_subsystem", kNvmfTestNqn, "-a", "-s",
                                        "VHOSTDSN0001", "-d", "vhostd test model"}));
        const CommandResult ns =
            vhostctl(*vhostd_, {"nvmf_subsystem_add_ns", kNvmfTestNqn, "Malloc0"});
        ASSERT_EQ(ns.exit_code, 0) << ns.err;
        EXPECT_EQ(ns.out, "1\n");
        ASSERT_NO_FATAL_FAILURE(rpc_ok({"nvmf_subsystem_add_listener", kNvmfTestNqn, "-t",
                                        "VFIOUSER", "-a", dir_, "-s", "0"}));
    }

    std::unique_ptr<VhostdProcess> vhostd_;
    std::string dir_;
};

}  // namespace vhostd::testing

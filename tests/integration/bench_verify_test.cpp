// vhost-bench --verify against vhostd (malloc, uring file, null; several queues, two reactors,
// adaptive polling with idle gaps so reactors fall asleep and wake) and against
// qemu-storage-daemon: zero errors, zero verify failures, zero lost completions.
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_process.hpp"
#include "fixtures.hpp"

extern char** environ;

namespace vhostd::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr uint64_t kBlocks = 32768;  // 16 MiB of 512-byte blocks

// Adaptive polling with a short idle threshold, and a client that pauses every 100 ms for
// 20 ms: the reactors sleep in every gap and must wake for the next request.
const std::vector<std::string> kAdaptive = {"--poll", "adaptive", "--idle-threshold-us",
                                            "50",     "-m",       "0x3"};
const std::vector<std::string> kGaps = {"--idle-every-ms", "100", "--idle-gap-ms", "20"};

std::vector<std::string> join(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// vhostd with one bdev behind controller vhost.0, served by two adaptive reactors.
VhostdProcess::Options adaptive_vhostd(const json& bdev_call, const std::string& bdev) {
    return {
        .config = make_config(json::array({bdev_call}),
                              json::array({blk_controller("vhost.0", bdev, {{"cpumask", "0x3"}})})),
        .args = kAdaptive,
        .sockets = {"vhost.0"}};
}

TEST(BenchVerify, MallocFourQueuesTwoReactorsAdaptive) {
    VhostdProcess vhostd(adaptive_vhostd(malloc_bdev("Malloc0", kBlocks), "Malloc0"));
    START_VHOSTD(vhostd);
    const auto run = run_bench(
        vhostd.dir(), join({"--socket", vhostd.socket("vhost.0"), "--queues", "4", "--iodepth",
                            "16", "--rw", "randrw", "--bs", "4k", "--verify", "--time", "1.5"},
                           kGaps));
    expect_clean(run, true);
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
}

TEST(BenchVerify, MallocSequentialWritesReadBack) {
    VhostdProcess vhostd(adaptive_vhostd(malloc_bdev("Malloc0", kBlocks), "Malloc0"));
    START_VHOSTD(vhostd);
    // Write-only with --verify: everything written is read back and checked at the end.
    const auto run = run_bench(
        vhostd.dir(), {"--socket", vhostd.socket("vhost.0"), "--queues", "2", "--iodepth", "8",
                       "--rw", "write", "--bs", "64k", "--verify", "--number-ios", "2000"});
    expect_clean(run, true);
    EXPECT_EQ(run.result["write_ios"], 2000) << run.output;
    EXPECT_GT(run.result["verify"]["readback"].get<uint64_t>(), 0U) << run.output;
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
}

TEST(BenchVerify, UringFileTwoQueuesAdaptive) {
    char tmpl[] = "/tmp/vhostd-bench-uring-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const fs::path image = fs::path(tmpl) / "disk.img";
    { std::ofstream(image, std::ios::binary); }
    fs::resize_file(image, kBlocks * 512);
    const json uring = {{"method", "bdev_uring_create"},
                        {"params", {{"name", "Uring0"}, {"filename", image.string()}}}};
    VhostdProcess vhostd(adaptive_vhostd(uring, "Uring0"));
    START_VHOSTD(vhostd);
    const auto run = run_bench(
        vhostd.dir(), join({"--socket", vhostd.socket("vhost.0"), "--queues", "2", "--iodepth",
                            "16", "--rw", "randrw", "--bs", "8k", "--verify", "--time", "1.5"},
                           kGaps));
    expect_clean(run, true);
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
    fs::remove_all(tmpl);
}

TEST(BenchVerify, NullBdevNeverLosesACompletion) {
    // A null bdev keeps no data: no verify, but every I/O must still complete with OK.
    const json null_bdev = {
        {"method", "bdev_null_create"},
        {"params", {{"name", "Null0"}, {"num_blocks", kBlocks}, {"block_size", 512}}}};
    VhostdProcess vhostd(adaptive_vhostd(null_bdev, "Null0"));
    START_VHOSTD(vhostd);
    const auto run =
        run_bench(vhostd.dir(), join({"--socket", vhostd.socket("vhost.0"), "--queues", "3",
                                      "--iodepth", "32", "--rw", "randread", "--time", "1"},
                                     kGaps));
    expect_clean(run, false);
    EXPECT_EQ(vhostd.stop(), 0) << vhostd.output();
}

std::string find_in_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (::access((dir + "/" + name).c_str(), X_OK) == 0) {
            return dir + "/" + name;
        }
    }
    return {};
}

TEST(BenchVerify, QemuStorageDaemonTwoQueues) {
    const std::string qsd = find_in_path("qemu-storage-daemon");
    if (qsd.empty()) {
        GTEST_SKIP() << "qemu-storage-daemon is not installed (Debian: qemu-system-common)";
    }
    char tmpl[] = "/tmp/vhostd-bench-qsd-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl;
    const std::string image = dir + "/disk.img";
    const std::string socket = dir + "/vhost.sock";
    { std::ofstream(image, std::ios::binary); }
    fs::resize_file(image, kBlocks * 512);
    std::vector<std::string> args = {
        qsd, "--blockdev", "driver=file,node-name=file0,filename=" + image, "--export",
        "type=vhost-user-blk,id=exp0,node-name=file0,addr.type=unix,addr.path=" + socket +
            ",writable=on,num-queues=2"};
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    pid_t pid = -1;
    ASSERT_EQ(::posix_spawn(&pid, qsd.c_str(), nullptr, nullptr, argv.data(), environ), 0);
    for (int i = 0; i < 400 && !fs::exists(socket); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const auto run = run_bench(dir, {"--socket", socket, "--queues", "2", "--iodepth", "16", "--rw",
                                     "randrw", "--bs", "4k", "--verify", "--time", "1"});
    expect_clean(run, true);
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    fs::remove_all(dir);
}

}  // namespace
}  // namespace vhostd::testing

// NBD client bdevs against real servers (nbdkit on a unix socket, started by the test): the
// create probe, I/O from iovecs, flush/discard/zeroes, read-only exports, an unreachable or
// silent server at create, a server killed and restarted (reconnect), and a stalled server
// (SIGSTOP: errors within the timeout, recovery after SIGCONT).
#include "block/backends/nbd/nbd_bdev.hpp"

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "block/bdev.hpp"
#include "support/nbd_server.hpp"
#include "support/reactor_loop.hpp"

namespace vhostd::block {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using testing::NbdServer;

using Sink = vhostd::testing::DoneList;

class NbdBdevTest : public ::testing::Test {
  protected:
    void SetUp() override {
        reactor_ = std::move(*reactor::Reactor::create(0, {reactor::PollMode::never, 100us, -1}));
    }
    void TearDown() override {
        channel_.reset();
        bdev_.reset();
        // Posted cleanups (the create probe) run before the reactor goes.
        for (int i = 0; i < 10; ++i) {
            reactor_->run_once();
        }
    }

    template <typename Pred>
    bool run_until(Pred done, std::chrono::milliseconds limit = 5000ms) {
        return vhostd::testing::run_reactor_until(*reactor_, done, limit);
    }

    Result<std::shared_ptr<Bdev>> create(NbdParams params) {
        std::optional<Result<std::shared_ptr<Bdev>>> result;
        bdev_nbd_client_create(*reactor_, std::move(params),
                               [&](Result<std::shared_ptr<Bdev>> r) { result = std::move(r); });
        EXPECT_TRUE(run_until([&] { return result.has_value(); }, 10s)) << "create never answered";
        return result ? std::move(*result) : make_error(ETIMEDOUT, "no answer");
    }
    void open(const NbdServer& server, uint32_t timeout_ms = 30'000) {
        auto bdev = create({.name = "Nbd0", .uri = server.uri(), .io_timeout_ms = timeout_ms});
        ASSERT_TRUE(bdev.has_value()) << bdev.error().describe();
        bdev_ = *bdev;
        auto channel = open_channel_now(*bdev_, *reactor_);
        ASSERT_TRUE(channel.has_value()) << channel.error().describe();
        channel_ = std::move(*channel);
    }
    // Submits and waits for one request; returns its status.
    IoStatus run(IoType type, uint64_t offset, std::vector<iovec> iov, uint64_t length = 0,
                 std::chrono::milliseconds limit = 10s) {
        if (length == 0) {
            for (const auto& v : iov) {
                length += v.iov_len;
            }
        }
        IoRequest r{.type = type,
                    .offset = offset,
                    .length = length,
                    .iov = iov.data(),
                    .iovcnt = static_cast<uint32_t>(iov.size()),
                    .completion = &sink_};
        sink_.done.clear();
        channel_->submit(r);
        EXPECT_TRUE(run_until([&] { return !sink_.done.empty(); }, limit)) << "no completion";
        return sink_.done.empty() ? IoStatus::aborted : r.status;
    }

    std::unique_ptr<reactor::Reactor> reactor_;
    std::shared_ptr<Bdev> bdev_;
    std::unique_ptr<IoChannel> channel_;
    Sink sink_;
};

TEST_F(NbdBdevTest, ServesIoFromIovecsWithFlushDiscardAndZeroes) {
    NbdServer server({"memory", "8M"});
    ASSERT_TRUE(server.start());
    open(server);
    EXPECT_EQ(bdev_->size_bytes(), 8U << 20);
    EXPECT_EQ(bdev_->driver(), "nbd_client");
    EXPECT_TRUE(bdev_->capabilities().discard);
    EXPECT_TRUE(bdev_->capabilities().write_zeroes);
    EXPECT_FALSE(bdev_->capabilities().read_only);

    // Two iovecs, one command each, no copy.
    std::vector<uint8_t> a(4096, 0xab), b(8192, 0xcd);
    ASSERT_EQ(run(IoType::write, 1 << 20, {{a.data(), a.size()}, {b.data(), b.size()}}),
              IoStatus::success);
    std::vector<uint8_t> back(12288, 0);
    ASSERT_EQ(run(IoType::read, 1 << 20, {{back.data(), back.size()}}), IoStatus::success);
    EXPECT_TRUE(std::equal(a.begin(), a.end(), back.begin()));
    EXPECT_TRUE(std::equal(b.begin(), b.end(), back.begin() + 4096));
    EXPECT_EQ(run(IoType::flush, 0, {}), IoStatus::success);

    EXPECT_EQ(run(IoType::write_zeroes, 1 << 20, {}, 4096), IoStatus::success);
    ASSERT_EQ(run(IoType::read, 1 << 20, {{back.data(), 4096}}), IoStatus::success);
    EXPECT_TRUE(std::all_of(back.begin(), back.begin() + 4096, [](uint8_t x) { return x == 0; }));
    EXPECT_EQ(run(IoType::discard, 0, {}, 1 << 20), IoStatus::success);

    const auto status = bdev_->backend_status();
    EXPECT_EQ(status["nbd"]["state"], "up") << status.dump();
    EXPECT_EQ(status["nbd"]["inflight_commands"], 0);
    EXPECT_EQ(bdev_->config_calls()[0]["method"], "bdev_nbd_client_create");
    EXPECT_EQ(bdev_->config_calls()[0]["params"]["uri"], server.uri());
}

TEST_F(NbdBdevTest, ReadOnlyExportMakesAReadOnlyBdev) {
    NbdServer server({"memory", "1M"}, /*read_only=*/true);
    ASSERT_TRUE(server.start());
    open(server);
    EXPECT_TRUE(bdev_->capabilities().read_only);
    std::vector<uint8_t> buf(4096);
    EXPECT_EQ(run(IoType::write, 0, {{buf.data(), buf.size()}}), IoStatus::io_error);
    EXPECT_EQ(run(IoType::read, 0, {{buf.data(), buf.size()}}), IoStatus::success);
}

TEST_F(NbdBdevTest, UnreachableOrSilentServerFailsCreateWithinTheTimeout) {
    auto missing = create(
        {.name = "Nbd0", .uri = "nbd+unix:///?socket=/nonexistent/sock", .io_timeout_ms = 2000});
    ASSERT_FALSE(missing.has_value());
    EXPECT_NE(missing.error().message.find("Nbd0"), std::string::npos);

    // A socket that accepts (the kernel's backlog) but never speaks NBD.
    char tmpl[] = "/tmp/vhostd-nbd.XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    const std::string path = dir + "/silent.sock";
    const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(listener, 4), 0);
    const auto start = Clock::now();
    auto silent =
        create({.name = "Nbd1", .uri = "nbd+unix:///?socket=" + path, .io_timeout_ms = 300});
    ASSERT_FALSE(silent.has_value());
    EXPECT_EQ(silent.error().code, ETIMEDOUT) << silent.error().describe();
    EXPECT_LT(Clock::now() - start, 5s);
    ::close(listener);
    std::filesystem::remove_all(dir);
}

TEST_F(NbdBdevTest, KilledServerIsReconnectedAndNothingFailedIsReportedDone) {
    NbdServer server;
    const std::string file = server.dir() + "/disk.img";
    {
        std::FILE* f = std::fopen(file.c_str(), "w");
        ASSERT_NE(f, nullptr);
        std::fclose(f);
        std::filesystem::resize_file(file, 4 << 20);
    }
    server.set_args({"file", file});
    ASSERT_TRUE(server.start());
    open(server, 5000);
    std::vector<uint8_t> data(4096, 0x5a);
    ASSERT_EQ(run(IoType::write, 0, {{data.data(), data.size()}}), IoStatus::success);
    ASSERT_EQ(run(IoType::flush, 0, {}), IoStatus::success);

    server.stop();
    // While the server is gone a request waits for the reconnect; the server comes back
    // within the timeout and the request completes correctly.
    std::vector<uint8_t> back(4096, 0);
    IoRequest r{.type = IoType::read,
                .offset = 0,
                .length = back.size(),
                .iov = nullptr,
                .iovcnt = 1,
                .completion = &sink_};
    iovec v{back.data(), back.size()};
    r.iov = &v;
    sink_.done.clear();
    channel_->submit(r);
    run_until([] { return false; }, 300ms);  // the connection notices and goes down
    ASSERT_TRUE(server.start());
    ASSERT_TRUE(run_until([&] { return !sink_.done.empty(); }, 10s));
    // Either the read was on the wire when the server died (it fails) or it waited and
    // succeeded: never a success with wrong data.
    if (r.status == IoStatus::success) {
        EXPECT_EQ(back, data);
    } else {
        EXPECT_EQ(r.status, IoStatus::io_error);
    }
    EXPECT_EQ(run(IoType::read, 0, {{back.data(), back.size()}}), IoStatus::success);
    EXPECT_EQ(back, data);
    EXPECT_GE(bdev_->backend_status()["nbd"]["reconnects"].get<uint64_t>(), 1U);
}

TEST_F(NbdBdevTest, AServerRestartedWithALargerExportResizesTheBdev) {
    NbdServer server({"memory", "8M"});
    ASSERT_TRUE(server.start());
    open(server, 5000);
    int resized = 0;
    const uint64_t token =
        bdev_->add_listener([&](Bdev&, BdevEvent e) { resized += e == BdevEvent::resized; });
    std::vector<uint8_t> buf(4096);
    ASSERT_EQ(run(IoType::read, 0, {{buf.data(), buf.size()}}), IoStatus::success);
    server.stop();
    server.set_args({"memory", "16M"});  // "another client" grew the disk and restarted it
    ASSERT_TRUE(server.start());
    // The reconnect finds the export larger; the bdev follows and its users hear of it.
    ASSERT_TRUE(run_until([&] { return bdev_->size_bytes() == 16U << 20; }, 10s))
        << bdev_->size_bytes();
    EXPECT_EQ(resized, 1);
    IoStatus status = IoStatus::io_error;
    for (int attempt = 0; attempt < 20 && status != IoStatus::success; ++attempt) {
        status = run(IoType::read, 12 << 20, {{buf.data(), buf.size()}});
    }
    EXPECT_EQ(status, IoStatus::success) << "the new blocks are served";
    bdev_->remove_listener(token);
}

TEST_F(NbdBdevTest, ReconnectsAreCountedOverEveryChannel) {
    NbdServer server({"memory", "1M"});  // multi-conn: one connection per channel
    ASSERT_TRUE(server.start());
    open(server, 5000);
    auto second = open_channel_now(*bdev_, *reactor_);
    ASSERT_TRUE(second.has_value()) << second.error().describe();
    std::vector<uint8_t> buf(4096);
    ASSERT_EQ(run(IoType::read, 0, {{buf.data(), buf.size()}}), IoStatus::success);
    auto connected = [&] { return bdev_->backend_status()["nbd"]["connected"].get<uint64_t>(); };
    ASSERT_TRUE(run_until([&] { return connected() == 2; }));

    server.stop();
    ASSERT_TRUE(run_until([&] { return connected() == 0; }));  // both notice and go down
    ASSERT_TRUE(server.start());
    ASSERT_TRUE(run_until([&] { return connected() == 2; }, 10s)) << bdev_->backend_status().dump();
    EXPECT_EQ(bdev_->backend_status()["nbd"]["reconnects"], 2) << "one per channel";
    second->reset();
}

TEST_F(NbdBdevTest, StalledServerFailsRequestsWithinTheTimeoutThenRecovers) {
    NbdServer server({"memory", "4M"});
    ASSERT_TRUE(server.start());
    open(server, 400);
    std::vector<uint8_t> buf(4096, 1);
    ASSERT_EQ(run(IoType::write, 0, {{buf.data(), buf.size()}}), IoStatus::success);

    server.freeze();
    const auto start = Clock::now();
    EXPECT_EQ(run(IoType::read, 0, {{buf.data(), buf.size()}}, 0, 5s), IoStatus::io_error);
    EXPECT_LT(Clock::now() - start, 3s) << "bounded by the timeout, not by the server";
    EXPECT_GE(bdev_->backend_status()["nbd"]["timeouts"].get<uint64_t>(), 1U);

    server.signal(SIGCONT);
    // The memory plugin keeps its data across connections of one nbdkit process.
    IoStatus again = IoStatus::io_error;
    for (int attempt = 0; attempt < 20 && again != IoStatus::success; ++attempt) {
        again = run(IoType::read, 0, {{buf.data(), buf.size()}}, 0, 5s);
    }
    EXPECT_EQ(again, IoStatus::success);
}

TEST_F(NbdBdevTest, QemuNbdOnTcpLoopbackWithAConnectionLimit) {
    // qemu-nbd on a file, on 127.0.0.1 at a port the kernel picked for a socket we then close.
    NbdServer scratch;  // only for its directory
    const std::string file = scratch.dir() + "/disk.img";
    std::FILE* f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
    std::filesystem::resize_file(file, 2 << 20);
    const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    const std::string port = std::to_string(ntohs(addr.sin_port));
    ::close(probe);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::execlp("qemu-nbd", "qemu-nbd", "-b", "127.0.0.1", "-p", port.c_str(), "-f", "raw", "-t",
                 "--shared=4", file.c_str(), nullptr);
        ::_exit(127);
    }
    const std::string uri = "nbd://127.0.0.1:" + port + "/";
    Result<std::shared_ptr<Bdev>> bdev = make_error(EIO, "not tried");
    for (int i = 0; i < 50 && !bdev; ++i) {  // until qemu-nbd listens
        bdev = create({.name = "Tcp0", .uri = uri, .connections = 1, .io_timeout_ms = 2000});
        if (!bdev) {
            std::this_thread::sleep_for(100ms);
        }
    }
    ASSERT_TRUE(bdev.has_value()) << bdev.error().describe();
    bdev_ = *bdev;
    EXPECT_EQ(bdev_->size_bytes(), 2U << 20);
    auto channel = open_channel_now(*bdev_, *reactor_);
    ASSERT_TRUE(channel.has_value()) << channel.error().describe();
    channel_ = std::move(*channel);
    std::vector<uint8_t> data(4096, 0x77), back(4096, 0);
    EXPECT_EQ(run(IoType::write, 8192, {{data.data(), data.size()}}), IoStatus::success);
    EXPECT_EQ(run(IoType::read, 8192, {{back.data(), back.size()}}), IoStatus::success);
    EXPECT_EQ(back, data);
    // connections: 1 -- a second channel (another reactor) is refused, not silently shared.
    auto second = open_channel_now(*bdev_, *reactor_);
    ASSERT_FALSE(second.has_value());
    EXPECT_EQ(second.error().code, EBUSY);
    channel_.reset();
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
}

}  // namespace
}  // namespace vhostd::block

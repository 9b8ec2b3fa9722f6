// RBD bdevs against a real single-node Ceph cluster (support/ceph_cluster.hpp, started once
// per test program): I/O from several iovecs, flush/discard/zeroes, read-only, a resize by
// another client, shared registered clusters, an unreachable cluster at create time (a clear
// error within the timeout), a stalled OSD (SIGSTOP: IOERR within the timeout, recovery after
// SIGCONT), and what librbd itself does with iovecs whose total is not a block multiple.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rados/librados.h>
#include <rbd/librbd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "block/backends/rbd/rbd_module.hpp"
#include "block/bdev.hpp"
#include "support/ceph_cluster.hpp"
#include "support/reactor_loop.hpp"

namespace vhostd::block {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::CephCluster;

using Sink = vhostd::testing::DoneList;

class RbdClusterTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        if (!CephCluster::available()) {
            return;
        }
        cluster_ = new CephCluster();
        if (!cluster_->start()) {
            ADD_FAILURE() << "the Ceph cluster did not start:\n" << cluster_->output();
        }
    }
    static void TearDownTestSuite() {
        delete cluster_;
        cluster_ = nullptr;
    }
    void SetUp() override {
        if (cluster_ == nullptr) {
            GTEST_SKIP() << "needs ceph-mon, ceph-osd and rbd (scripts/install-deps.sh --test)";
        }
        reactor_ = std::move(*reactor::Reactor::create(0, {reactor::PollMode::never, 100us, -1}));
        module_ = RbdModule::create(*reactor_, make_librbd_api());
    }
    void TearDown() override {
        channel_.reset();
        bdev_.reset();
        module_.reset();  // closes images and connections (joins the workers)
        if (cluster_ != nullptr && frozen_) {
            cluster_->thaw_osd();
        }
    }

    template <typename Pred>
    bool run_until(Pred done, std::chrono::milliseconds limit = 20'000ms) {
        return vhostd::testing::run_reactor_until(*reactor_, done, limit, 100us);
    }

    // The bdev's own connection, configured by "config" alone (no config file), as SPDK's
    // bdev_rbd_create with config does.
    RbdParams params(const std::string& image, uint32_t timeout_ms = 30'000) {
        return RbdParams{.name = "Rbd0",
                         .pool_name = "rbd",
                         .rbd_name = image,
                         .block_size = 512,
                         .config = CephOptions{{"mon_host", cluster_->mon_host()},
                                               {"auth_client_required", "none"}},
                         .io_timeout_ms = timeout_ms};
    }
    Result<std::shared_ptr<Bdev>> create(RbdParams p) {
        std::optional<Result<std::shared_ptr<Bdev>>> result;
        module_->create_bdev(std::move(p),
                             [&](Result<std::shared_ptr<Bdev>> r) { result = std::move(r); });
        EXPECT_TRUE(run_until([&] { return result.has_value(); }, 60s)) << "create never answered";
        return result ? std::move(*result) : make_error(ETIMEDOUT, "no answer");
    }
    void open(RbdParams p) {
        auto bdev = create(std::move(p));
        ASSERT_TRUE(bdev.has_value()) << bdev.error().describe();
        bdev_ = *bdev;
        auto channel = open_channel_now(*bdev_, *reactor_);
        ASSERT_TRUE(channel.has_value()) << channel.error().describe();
        channel_ = std::move(*channel);
    }
    IoStatus run(IoType type, uint64_t offset, std::vector<iovec> iov, uint64_t length = 0,
                 std::chrono::milliseconds limit = 30s) {
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
    nlohmann::json status() { return bdev_->backend_status()["rbd"]; }

    static CephCluster* cluster_;
    std::unique_ptr<reactor::Reactor> reactor_;
    std::shared_ptr<RbdModule> module_;
    std::shared_ptr<Bdev> bdev_;
    std::unique_ptr<IoChannel> channel_;
    Sink sink_;
    bool frozen_ = false;
};

CephCluster* RbdClusterTest::cluster_ = nullptr;

TEST_F(RbdClusterTest, ServesIoFromSeveralIovecsWithFlushDiscardAndZeroes) {
    ASSERT_TRUE(cluster_->create_image("io", 64)) << cluster_->output();
    open(params("io"));
    EXPECT_EQ(bdev_->size_bytes(), 64U << 20);
    EXPECT_EQ(bdev_->driver(), "rbd");
    EXPECT_TRUE(bdev_->capabilities().flush);
    EXPECT_TRUE(bdev_->capabilities().discard);
    EXPECT_TRUE(bdev_->capabilities().write_zeroes);

    // Written from two iovecs, read back into three of other sizes.
    std::vector<uint8_t> a(4096, 0xab), b(8192, 0xcd);
    ASSERT_EQ(run(IoType::write, 1 << 20, {{a.data(), a.size()}, {b.data(), b.size()}}),
              IoStatus::success);
    std::vector<uint8_t> x(512), y(7680), z(4096);
    ASSERT_EQ(run(IoType::read, 1 << 20,
                  {{x.data(), x.size()}, {y.data(), y.size()}, {z.data(), z.size()}}),
              IoStatus::success);
    std::vector<uint8_t> back;
    back.insert(back.end(), x.begin(), x.end());
    back.insert(back.end(), y.begin(), y.end());
    back.insert(back.end(), z.begin(), z.end());
    std::vector<uint8_t> expected(a);
    expected.insert(expected.end(), b.begin(), b.end());
    EXPECT_EQ(back, expected);
    EXPECT_EQ(run(IoType::flush, 0, {}), IoStatus::success);

    EXPECT_EQ(run(IoType::write_zeroes, 1 << 20, {}, 4096), IoStatus::success);
    ASSERT_EQ(run(IoType::read, 1 << 20, {{z.data(), z.size()}}), IoStatus::success);
    EXPECT_TRUE(std::all_of(z.begin(), z.end(), [](uint8_t v) { return v == 0; }));
    // A discard of whole 4 MiB objects removes them: the range reads as zeroes.
    std::vector<uint8_t> c(4096, 0x11);
    ASSERT_EQ(run(IoType::write, 8 << 20, {{c.data(), c.size()}}), IoStatus::success);
    EXPECT_EQ(run(IoType::discard, 8 << 20, {}, 4 << 20), IoStatus::success);
    ASSERT_EQ(run(IoType::read, 8 << 20, {{c.data(), c.size()}}), IoStatus::success);
    EXPECT_TRUE(std::all_of(c.begin(), c.end(), [](uint8_t v) { return v == 0; }));

    EXPECT_EQ(status()["state"], "up") << status().dump();
    EXPECT_EQ(status()["inflight"], 0);
    const auto calls = bdev_->config_calls();
    EXPECT_EQ(calls[0]["method"], "bdev_rbd_create");
    EXPECT_EQ(calls[0]["params"]["rbd_name"], "io");
    EXPECT_EQ(calls[0]["params"]["config"]["mon_host"], cluster_->mon_host());
}

TEST_F(RbdClusterTest, ReadOnlyImage) {
    ASSERT_TRUE(cluster_->create_image("ro", 8)) << cluster_->output();
    RbdParams p = params("ro");
    p.read_only = true;
    open(std::move(p));
    EXPECT_TRUE(bdev_->capabilities().read_only);
    std::vector<uint8_t> buf(4096);
    EXPECT_EQ(run(IoType::write, 0, {{buf.data(), buf.size()}}), IoStatus::io_error);
    EXPECT_EQ(run(IoType::read, 0, {{buf.data(), buf.size()}}), IoStatus::success);
    EXPECT_EQ(bdev_->config_calls()[0]["params"]["read_only"], true);
}

TEST_F(RbdClusterTest, AResizeByAnotherClientReachesTheBdev) {
    ASSERT_TRUE(cluster_->create_image("grow", 16)) << cluster_->output();
    open(params("grow"));
    ASSERT_TRUE(cluster_->resize_image("grow", 48)) << cluster_->output();
    // librbd's header watch tells the backend, which reads the size again.
    ASSERT_TRUE(run_until([&] { return bdev_->size_bytes() == 48U << 20; })) << bdev_->size_bytes();
    std::vector<uint8_t> buf(4096, 0x42);
    EXPECT_EQ(run(IoType::write, (40U << 20), {{buf.data(), buf.size()}}), IoStatus::success);
    // bdev_rbd_resize from vhostd itself (MiB).
    std::optional<Result<void>> resized;
    module_->resize_bdev(*bdev_, 64, [&](Result<void> r) { resized = std::move(r); });
    ASSERT_TRUE(run_until([&] { return resized.has_value(); }));
    ASSERT_TRUE(resized->has_value()) << resized->error().describe();
    EXPECT_EQ(bdev_->size_bytes(), 64U << 20);
}

TEST_F(RbdClusterTest, RegisteredClusterIsSharedAndCannotGoWhileUsed) {
    ASSERT_TRUE(cluster_->create_image("s1", 8) && cluster_->create_image("s2", 8));
    std::optional<Result<void>> registered;
    module_->register_cluster({.name = "ceph1", .config_file = cluster_->conf()},
                              [&](Result<void> r) { registered = std::move(r); });
    ASSERT_TRUE(run_until([&] { return registered.has_value(); }));
    ASSERT_TRUE(registered->has_value()) << registered->error().describe();
    auto info = module_->clusters_info(std::nullopt);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ((*info)[0]["cluster_name"], "ceph1");
    EXPECT_EQ((*info)[0]["config_file"], cluster_->conf());

    RbdParams p1{.name = "S1", .pool_name = "rbd", .rbd_name = "s1", .cluster_name = "ceph1"};
    RbdParams p2{.name = "S2", .pool_name = "rbd", .rbd_name = "s2", .cluster_name = "ceph1"};
    auto s1 = create(p1);
    auto s2 = create(p2);
    ASSERT_TRUE(s1.has_value() && s2.has_value());
    EXPECT_EQ((*s1)->config_calls()[0]["params"]["cluster_name"], "ceph1");
    auto busy = module_->unregister_cluster("ceph1");
    ASSERT_FALSE(busy.has_value());
    EXPECT_EQ(busy.error().code, EBUSY);
    s1->reset();
    s2->reset();
    // Once both images are closed (on workers), the cluster may go.
    ASSERT_TRUE(run_until([&] { return module_->unregister_cluster("ceph1").has_value(); }));
    EXPECT_FALSE(module_->clusters_info(std::nullopt).has_value()) << "none left: ENOENT";
}

TEST_F(RbdClusterTest, UnreachableClusterFailsCreateWithinTheTimeout) {
    // A port nobody listens on (taken from the kernel, then closed).
    const int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    ::close(probe);
    RbdParams p = params("io", 2000);
    p.name = "Gone";
    p.config = CephOptions{{"mon_host", "v2:127.0.0.1:" + std::to_string(ntohs(addr.sin_port))},
                           {"auth_client_required", "none"}};
    const auto start = Clock::now();
    auto bdev = create(std::move(p));
    ASSERT_FALSE(bdev.has_value());
    EXPECT_EQ(bdev.error().code, ETIMEDOUT) << bdev.error().describe();
    EXPECT_NE(bdev.error().message.find("Gone"), std::string::npos) << bdev.error().message;
    EXPECT_LT(Clock::now() - start, 10s) << "bounded by the timeout, not by librados' default";
}

TEST_F(RbdClusterTest, StalledOsdFailsRequestsWithinTheTimeoutThenRecovers) {
    ASSERT_TRUE(cluster_->create_image("stall", 8)) << cluster_->output();
    open(params("stall", 2000));
    std::vector<uint8_t> buf(4096, 7);
    ASSERT_EQ(run(IoType::write, 0, {{buf.data(), buf.size()}}), IoStatus::success);

    cluster_->freeze_osd();
    frozen_ = true;
    const auto start = Clock::now();
    EXPECT_EQ(run(IoType::read, 0, {{buf.data(), buf.size()}}), IoStatus::io_error);
    EXPECT_LT(Clock::now() - start, 8s) << "bounded by the timeout, not by the OSD";
    EXPECT_GE(status()["timeouts"].get<uint64_t>(), 1U) << status().dump();
    EXPECT_EQ(status()["state"], "down");

    cluster_->thaw_osd();
    frozen_ = false;
    IoStatus again = IoStatus::io_error;
    for (int attempt = 0; attempt < 20 && again != IoStatus::success; ++attempt) {
        again = run(IoType::read, 0, {{buf.data(), buf.size()}});
    }
    EXPECT_EQ(again, IoStatus::success);
    EXPECT_TRUE(std::all_of(buf.begin(), buf.end(), [](uint8_t v) { return v == 7; }));
    EXPECT_EQ(status()["state"], "up");
    EXPECT_GE(status()["reconnects"].get<uint64_t>(), 1U);
}

// What librbd does with iovecs whose total is not a multiple of 512, called directly (the bdev
// layer never sends such requests): an image is byte-addressed, so librbd reads and writes
// exactly the bytes asked for, at any offset, spread over the iovecs in order; an empty iovec
// list is refused at once with -EINVAL.
TEST_F(RbdClusterTest, LibrbdTakesIovecsOfAnyTotalLength) {
    ASSERT_TRUE(cluster_->create_image("bytes", 8)) << cluster_->output();
    rados_t rados = nullptr;
    ASSERT_EQ(rados_create(&rados, nullptr), 0);
    ASSERT_EQ(rados_conf_read_file(rados, cluster_->conf().c_str()), 0);
    ASSERT_EQ(rados_connect(rados), 0);
    rados_ioctx_t ioctx = nullptr;
    ASSERT_EQ(rados_ioctx_create(rados, "rbd", &ioctx), 0);
    rbd_image_t image = nullptr;
    ASSERT_EQ(rbd_open(ioctx, "bytes", &image, nullptr), 0);
    auto wait = [](rbd_completion_t c) {
        rbd_aio_wait_for_complete(c);
        const ssize_t rv = rbd_aio_get_return_value(c);
        rbd_aio_release(c);
        return rv;
    };
    std::vector<uint8_t> zero(2048, 0);
    rbd_completion_t c = nullptr;
    ASSERT_EQ(rbd_aio_create_completion(nullptr, nullptr, &c), 0);
    ASSERT_EQ(rbd_aio_write(image, 0, zero.size(), reinterpret_cast<char*>(zero.data()), c), 0);
    ASSERT_EQ(wait(c), 0);

    std::vector<uint8_t> p(300, 0x5a), q(701, 0xa5);  // 1001 bytes at offset 100
    iovec out[2] = {{p.data(), p.size()}, {q.data(), q.size()}};
    ASSERT_EQ(rbd_aio_create_completion(nullptr, nullptr, &c), 0);
    ASSERT_EQ(rbd_aio_writev(image, out, 2, 100, c), 0);
    EXPECT_EQ(wait(c), 0) << "a write answers 0";
    std::vector<uint8_t> r1(77), r2(1500);  // 1577 bytes from offset 0
    iovec in[2] = {{r1.data(), r1.size()}, {r2.data(), r2.size()}};
    ASSERT_EQ(rbd_aio_create_completion(nullptr, nullptr, &c), 0);
    ASSERT_EQ(rbd_aio_readv(image, in, 2, 0, c), 0);
    EXPECT_EQ(wait(c), 1577) << "a read answers the bytes read";
    std::vector<uint8_t> got(r1);
    got.insert(got.end(), r2.begin(), r2.end());
    for (size_t i = 0; i < got.size(); ++i) {
        const uint8_t want = i < 100 ? 0 : i < 400 ? 0x5a : i < 1101 ? 0xa5 : 0;
        ASSERT_EQ(got[i], want) << "byte " << i;
    }
    ASSERT_EQ(rbd_aio_create_completion(nullptr, nullptr, &c), 0);
    EXPECT_EQ(rbd_aio_readv(image, in, 0, 0, c), -EINVAL) << "no iovec: refused at once";
    rbd_aio_release(c);
    rbd_close(image);
    rados_ioctx_destroy(ioctx);
    rados_shutdown(rados);
}

}  // namespace
}  // namespace vhostd::block

// The RBD backend over a fake librbd (support/fake_rbd_api.hpp): completion hand-over from
// foreign threads, and the timeout and ordering rules a real cluster produces only by chance:
// an answer after the timeout (held, then IOERR), an answer that never comes (the bdev fails
// until it does), answers out of order, librbd refusing an I/O, a create whose cluster does
// not answer (ETIMEDOUT in time; what opens late is closed), and image jobs kept in order.
#include "block/backends/rbd/rbd_channel.hpp"

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "block/backends/rbd/rbd_module.hpp"
#include "block/bdev.hpp"
#include "support/fake_rbd_api.hpp"
#include "support/reactor_loop.hpp"

namespace vhostd::block {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::FakeRbdApi;

using Sink = vhostd::testing::DoneList;

class RbdChannelTest : public ::testing::Test {
  protected:
    void SetUp() override {
        reactor_ = std::move(*reactor::Reactor::create(0, {reactor::PollMode::never, 100us, -1}));
        api_ = std::make_shared<FakeRbdApi>();
        module_ = RbdModule::create(*reactor_, api_);
    }
    void TearDown() override {
        api_->hold(false);
        channel_.reset();
        bdev_.reset();
        module_.reset();  // joins the workers
        for (int i = 0; i < 10; ++i) {
            reactor_->run_once();
        }
    }

    template <typename Pred>
    bool run_until(Pred done, std::chrono::milliseconds limit = 5000ms) {
        return vhostd::testing::run_reactor_until(*reactor_, done, limit);
    }

    Result<std::shared_ptr<Bdev>> create(RbdParams params) {
        std::optional<Result<std::shared_ptr<Bdev>>> result;
        module_->create_bdev(std::move(params),
                             [&](Result<std::shared_ptr<Bdev>> r) { result = std::move(r); });
        EXPECT_TRUE(run_until([&] { return result.has_value(); })) << "create never answered";
        return result ? std::move(*result) : make_error(ETIMEDOUT, "no answer");
    }
    void open(uint32_t timeout_ms = 30'000) {
        auto bdev = create({.name = "Rbd0",
                            .pool_name = "rbd",
                            .rbd_name = "img",
                            .block_size = 512,
                            .io_timeout_ms = timeout_ms});
        ASSERT_TRUE(bdev.has_value()) << bdev.error().describe();
        bdev_ = *bdev;
        auto channel = open_channel_now(*bdev_, *reactor_);
        ASSERT_TRUE(channel.has_value()) << channel.error().describe();
        channel_ = std::move(*channel);
    }
    IoRequest request(IoType type, iovec* iov, uint32_t iovcnt, uint64_t length,
                      uint64_t offset = 0) {
        return vhostd::testing::io_request(type, iov, iovcnt, length, offset, sink_);
    }
    nlohmann::json status() { return bdev_->backend_status()["rbd"]; }

    std::unique_ptr<reactor::Reactor> reactor_;
    std::shared_ptr<FakeRbdApi> api_;
    std::shared_ptr<RbdModule> module_;
    std::shared_ptr<Bdev> bdev_;
    std::unique_ptr<IoChannel> channel_;
    Sink sink_;
};

TEST_F(RbdChannelTest, AnswersFromLibrbdThreadsCompleteOnTheReactorZeroCopy) {
    open();
    EXPECT_EQ(bdev_->driver(), "rbd");
    EXPECT_EQ(bdev_->num_blocks(), (64U << 20) / 512);
    std::vector<uint8_t> a(4096), b(512);
    iovec iov[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
    IoRequest r = request(IoType::read, iov, 2, 4608, 8192);
    channel_->submit(r);
    ASSERT_EQ(api_->pending(), 1U);
    // librbd got the request's own iovecs, not a copy.
    const auto io = api_->io(0);
    EXPECT_EQ(io.io.iov, iov);
    EXPECT_EQ(io.io.iovcnt, 2);
    EXPECT_EQ(io.io.offset, 8192U);
    EXPECT_EQ(io.io.length, 4608U);
    EXPECT_TRUE(sink_.done.empty());
    EXPECT_EQ(status()["inflight"], 1);
    std::thread librbd([&] { api_->answer(0); });
    librbd.join();
    ASSERT_TRUE(run_until([&] { return !sink_.done.empty(); }));
    EXPECT_EQ(r.status, IoStatus::success);
    EXPECT_EQ(status()["inflight"], 0);
    EXPECT_EQ(status()["state"], "up");

    // A short read is a failure, never partial data reported as done.
    IoRequest shorter = request(IoType::read, iov, 1, 4096);
    sink_.done.clear();
    channel_->submit(shorter);
    api_->answer(0, 512);
    ASSERT_TRUE(run_until([&] { return !sink_.done.empty(); }));
    EXPECT_EQ(shorter.status, IoStatus::io_error);

    // ENOSPC from a thin pool is its own status.
    IoRequest write = request(IoType::write, iov, 1, 4096);
    sink_.done.clear();
    channel_->submit(write);
    api_->answer(0, -ENOSPC);
    ASSERT_TRUE(run_until([&] { return !sink_.done.empty(); }));
    EXPECT_EQ(write.status, IoStatus::no_space);
}

TEST_F(RbdChannelTest, RefusedAndMalformedRequestsFailAfterSubmitReturns) {
    open();
    std::vector<uint8_t> a(4096);
    iovec iov{a.data(), a.size()};
    api_->submit_result = -EINVAL;
    IoRequest r = request(IoType::write, &iov, 1, 4096);
    channel_->submit(r);
    EXPECT_TRUE(sink_.done.empty()) << "never completed inside submit()";
    ASSERT_TRUE(run_until([&] { return !sink_.done.empty(); }));
    EXPECT_EQ(r.status, IoStatus::io_error);
    api_->submit_result = 0;
    // Past the end of the image: the channel's own check, librbd never sees it.
    IoRequest beyond = request(IoType::read, &iov, 1, 4096, 64 << 20);
    sink_.done.clear();
    channel_->submit(beyond);
    EXPECT_TRUE(sink_.done.empty());
    ASSERT_TRUE(run_until([&] { return !sink_.done.empty(); }));
    EXPECT_EQ(beyond.status, IoStatus::io_error);
    EXPECT_EQ(api_->pending(), 0U);
}

TEST_F(RbdChannelTest, AnAnswerAfterTheTimeoutIsHeldUntilItComesThenFails) {
    open(80);
    std::vector<uint8_t> a(4096, 0), b(4096, 0);
    iovec va{a.data(), a.size()};
    iovec vb{b.data(), b.size()};
    IoRequest first = request(IoType::read, &va, 1, 4096);
    channel_->submit(first);
    // The timeout passes without an answer: the request is counted, the backend is down, but
    // the request stays with librbd, which may still write into its buffer.
    ASSERT_TRUE(run_until([&] { return status()["timeouts"] == 1; }));
    EXPECT_EQ(status()["state"], "down");
    EXPECT_EQ(status()["overdue"], 1);
    EXPECT_TRUE(sink_.done.empty()) << "handed back while librbd still holds its buffer";
    // A newer request is answered first, and succeeds.
    IoRequest second = request(IoType::read, &vb, 1, 4096, 4096);
    channel_->submit(second);
    api_->answer(1);
    ASSERT_TRUE(run_until([&] { return sink_.done.size() == 1; }));
    EXPECT_EQ(sink_.done[0], &second);
    EXPECT_EQ(second.status, IoStatus::success);
    EXPECT_EQ(status()["state"], "up");
    EXPECT_EQ(status()["reconnects"], 1) << "answers resumed after a failure";
    // The late answer comes (successfully, even): the request fails, it is not reported done.
    std::thread librbd([&] { api_->answer(0); });
    librbd.join();
    ASSERT_TRUE(run_until([&] { return sink_.done.size() == 2; }));
    EXPECT_EQ(first.status, IoStatus::io_error);
    EXPECT_EQ(status()["overdue"], 0);
    EXPECT_EQ(status()["timeouts"], 1) << "counted once";
}

TEST_F(RbdChannelTest, LibrbdTimingOutItselfIsATimeout) {
    open();
    std::vector<uint8_t> a(4096);
    iovec iov{a.data(), a.size()};
    IoRequest r = request(IoType::write, &iov, 1, 4096);
    channel_->submit(r);
    api_->answer(0, -ETIMEDOUT);  // librados' rados_osd_op_timeout
    ASSERT_TRUE(run_until([&] { return !sink_.done.empty(); }));
    EXPECT_EQ(r.status, IoStatus::io_error);
    EXPECT_EQ(status()["timeouts"], 1);
    EXPECT_EQ(status()["state"], "down");
}

TEST_F(RbdChannelTest, ARequestLibrbdNeverAnswersFailsTheBdevUntilItDoes) {
    open(60);
    std::vector<uint8_t> a(4096);
    iovec iov{a.data(), a.size()};
    IoRequest stuck = request(IoType::write, &iov, 1, 4096);
    channel_->submit(stuck);
    // Held a whole timeout past its own: librbd is stuck, the bdev fails.
    ASSERT_TRUE(run_until([&] { return bdev_->state() == BdevState::failed; }));
    // New requests fail at once instead of queueing behind it.
    IoRequest next = request(IoType::read, &iov, 1, 4096);
    channel_->submit(next);
    ASSERT_TRUE(run_until([&] { return sink_.done.size() == 1; }));
    EXPECT_EQ(sink_.done[0], &next);
    EXPECT_EQ(next.status, IoStatus::io_error);
    EXPECT_EQ(api_->pending(), 1U) << "only the stuck one reached librbd";
    // librbd lets go at last: the request fails and the bdev is online again.
    api_->answer(0);
    ASSERT_TRUE(run_until([&] { return sink_.done.size() == 2; }));
    EXPECT_EQ(stuck.status, IoStatus::io_error);
    ASSERT_TRUE(run_until([&] { return bdev_->state() == BdevState::online; }));
}

TEST_F(RbdChannelTest, ManyThreadsAnsweringAtOnceLoseNothing) {
    open();
    constexpr size_t kRequests = 256;
    std::vector<uint8_t> buf(512);
    iovec iov{buf.data(), buf.size()};
    std::vector<IoRequest> requests;
    requests.reserve(kRequests);
    for (size_t i = 0; i < kRequests; ++i) {
        requests.push_back(request(IoType::read, &iov, 1, 512, i * 512));
    }
    for (auto& r : requests) {
        channel_->submit(r);
    }
    ASSERT_EQ(api_->pending(), kRequests);
    std::vector<std::thread> threads;
    std::atomic<size_t> next{0};
    std::mutex take;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (;;) {
                std::lock_guard lock(take);  // answer(0) takes the oldest pending
                if (api_->pending() == 0) {
                    return;
                }
                api_->answer(0);
                ++next;
            }
        });
    }
    ASSERT_TRUE(run_until([&] { return sink_.done.size() == kRequests; }));
    for (auto& t : threads) {
        t.join();
    }
    for (const auto& r : requests) {
        EXPECT_EQ(r.status, IoStatus::success);
    }
}

TEST_F(RbdChannelTest, CreateAnswersWithinTheTimeoutAndClosesWhatOpensLate) {
    api_->hold(true);  // the cluster does not answer
    const auto start = Clock::now();
    auto bdev = create({.name = "Late",
                        .pool_name = "rbd",
                        .rbd_name = "img",
                        .block_size = 512,
                        .io_timeout_ms = 100});
    ASSERT_FALSE(bdev.has_value());
    EXPECT_EQ(bdev.error().code, ETIMEDOUT);
    EXPECT_NE(bdev.error().message.find("Late"), std::string::npos) << bdev.error().message;
    EXPECT_LT(Clock::now() - start, 4s);
    // The cluster answers after all: the image opened for nobody is closed again, and the
    // connection made for it shut down.
    api_->hold(false);
    ASSERT_TRUE(run_until([&] { return api_->closes == 1 && api_->disconnects == 1; }));
    EXPECT_EQ(api_->opens, 1);
}

TEST_F(RbdChannelTest, CreateErrorsAndTimeoutsReachLibrados) {
    auto missing =
        create({.name = "Nope", .pool_name = "rbd", .rbd_name = "missing", .block_size = 512});
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ENOENT);
    EXPECT_NE(missing.error().message.find("Nope"), std::string::npos);
    ASSERT_TRUE(run_until([&] { return api_->disconnects == 1; })) << "its connection is shut";
    auto named =
        create({.pool_name = "rbd", .rbd_name = "img", .block_size = 4096, .io_timeout_ms = 2500});
    ASSERT_TRUE(named.has_value()) << named.error().describe();
    EXPECT_EQ((*named)->name(), "Ceph0") << "SPDK's default name";
    EXPECT_EQ(api_->last_config.timeout_s, 2U) << "librados' timeouts from io_timeout_ms";
    EXPECT_TRUE(api_->last_config.read_config_file) << "no config: the default file";
    auto unregistered = create({.name = "X",
                                .pool_name = "rbd",
                                .rbd_name = "img",
                                .block_size = 512,
                                .cluster_name = "nowhere"});
    ASSERT_FALSE(unregistered.has_value());
    EXPECT_EQ(unregistered.error().code, ENOENT);
}

TEST_F(RbdChannelTest, AResizeByAnotherClientReachesTheBdev) {
    open();
    int resized = 0;
    const uint64_t token =
        bdev_->add_listener([&](Bdev&, BdevEvent e) { resized += e == BdevEvent::resized; });
    api_->set_image_size(128 << 20);
    std::thread librbd([&] { api_->notify_header_changed(); });
    librbd.join();
    ASSERT_TRUE(run_until([&] { return bdev_->num_blocks() == (128U << 20) / 512; }));
    EXPECT_EQ(resized, 1);
    // bdev_rbd_resize: in MiB, never smaller.
    std::optional<Result<void>> grown;
    module_->resize_bdev(*bdev_, 256, [&](Result<void> r) { grown = std::move(r); });
    ASSERT_TRUE(run_until([&] { return grown.has_value(); }));
    ASSERT_TRUE(grown->has_value()) << grown->error().describe();
    EXPECT_EQ(bdev_->num_blocks(), (256U << 20) / 512);
    std::optional<Result<void>> shrunk;
    module_->resize_bdev(*bdev_, 100, [&](Result<void> r) { shrunk = std::move(r); });
    ASSERT_TRUE(run_until([&] { return shrunk.has_value(); }));
    EXPECT_FALSE(shrunk->has_value());
    bdev_->remove_listener(token);
}

TEST_F(RbdChannelTest, DeletingWaitsForImageJobsThenClosesAndReleasesTheCluster) {
    std::optional<Result<void>> registered;
    module_->register_cluster({.name = "c1", .io_timeout_ms = 1000},
                              [&](Result<void> r) { registered = std::move(r); });
    ASSERT_TRUE(run_until([&] { return registered.has_value(); }));
    ASSERT_TRUE(registered->has_value());
    auto bdev = create({.name = "OnC1",
                        .pool_name = "rbd",
                        .rbd_name = "img",
                        .block_size = 512,
                        .cluster_name = "c1"});
    ASSERT_TRUE(bdev.has_value()) << bdev.error().describe();
    EXPECT_EQ(api_->connects, 1) << "the registered connection is shared";
    auto busy = module_->unregister_cluster("c1");
    ASSERT_FALSE(busy.has_value());
    EXPECT_EQ(busy.error().code, EBUSY);
    // A size refresh is on its way to a worker, and held there, when the bdev goes.
    api_->hold(true);
    api_->notify_header_changed();
    ASSERT_TRUE(run_until([&] { return module_->context()->workers.running() == 1; }));
    bdev->reset();
    for (int i = 0; i < 20; ++i) {
        reactor_->run_once();
    }
    EXPECT_EQ(api_->closes, 0) << "the close waits for the job on the same image";
    api_->hold(false);
    ASSERT_TRUE(run_until([&] { return api_->closes == 1; }));
    ASSERT_TRUE(run_until([&] { return module_->unregister_cluster("c1").has_value(); }));
    ASSERT_TRUE(run_until([&] { return api_->disconnects == 1; }));
}

}  // namespace
}  // namespace vhostd::block

// BdevChannel over a malloc bdev on a real reactor: every completed request is counted in the
// bdev's statistics, the device's completion sink is restored, QoS holds requests back and
// releases them in order, and lifting QoS releases everything held.
#include "block/bdev_channel.hpp"

#include <chrono>
#include <vector>

#include <gtest/gtest.h>

#include "block/backends/malloc/malloc_bdev.hpp"
#include "support/block_io.hpp"

namespace vhostd::block {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kBlock = 512;

struct Order final : IoCompletion {
    std::vector<IoRequest*> done;
    void io_complete(IoRequest& r) noexcept override { done.push_back(&r); }
};

class BdevChannelTest : public ::testing::Test {
  protected:
    void SetUp() override {
        bdev_ = *bdev_malloc_create({"Malloc0", 1024, kBlock, {}});
        reactor_ = std::move(*reactor::Reactor::create(0, {reactor::PollMode::never, 100us, -1}));
        channel_ = std::move(*open_channel_now(*bdev_, *reactor_));
    }
    void TearDown() override {
        channel_.reset();
        EXPECT_EQ(bdev_->stats().open_channels(), 0U);
    }

    void submit(IoRequest& r, IoType type, uint64_t offset, uint64_t length) {
        r = IoRequest{.type = type, .offset = offset, .length = length, .completion = &order_};
        if (type == IoType::read || type == IoType::write) {
            iov_ = {buffer_.data(), length};
            r.iov = &iov_;
            r.iovcnt = 1;
        }
        channel_->submit(r);
    }

    bool run_until(size_t completions, std::chrono::milliseconds limit = 2000ms) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (order_.done.size() < completions) {
            if (std::chrono::steady_clock::now() > deadline)
                return false;
            reactor_->run_once();
        }
        return true;
    }

    std::shared_ptr<Bdev> bdev_;
    std::unique_ptr<reactor::Reactor> reactor_;
    std::unique_ptr<IoChannel> channel_;
    Order order_;
    std::vector<uint8_t> buffer_ = std::vector<uint8_t>(64 * 1024);
    iovec iov_{};
};

TEST_F(BdevChannelTest, CountsEveryOperationIntoTheBdev) {
    IoRequest r[5];
    submit(r[0], IoType::write, 0, 4096);
    submit(r[1], IoType::read, 0, 8192);
    submit(r[2], IoType::flush, 0, 0);
    submit(r[3], IoType::discard, 4096, 1024);
    submit(r[4], IoType::write_zeroes, 8192, 512);
    EXPECT_TRUE(order_.done.empty()) << "completed inside submit";
    ASSERT_TRUE(run_until(5));
    for (IoRequest& req : r) {
        EXPECT_EQ(req.completion, &order_) << "device sink not restored";
        EXPECT_EQ(req.status, IoStatus::success);
    }
    const stats::IoStats s = bdev_->stats().snapshot();
    EXPECT_EQ(s.channels, 1U);
    EXPECT_EQ(s.op(IoType::write).ops, 1U);
    EXPECT_EQ(s.op(IoType::write).bytes, 4096U);
    EXPECT_EQ(s.op(IoType::read).bytes, 8192U);
    EXPECT_EQ(s.op(IoType::flush).ops, 1U);
    EXPECT_EQ(s.op(IoType::discard).bytes, 1024U);
    EXPECT_EQ(s.op(IoType::write_zeroes).bytes, 512U);
    EXPECT_GT(s.op(IoType::read).latency_sum, 0U);
    EXPECT_LE(s.op(IoType::read).latency_min, s.op(IoType::read).latency_max);
    EXPECT_EQ(s.queue_depth, 0U);
    EXPECT_EQ(s.histogram.total(), 5U);
}

TEST_F(BdevChannelTest, FailedRequestsCountAsErrors) {
    IoRequest r;
    submit(r, IoType::read, 1024 * kBlock, 4096);  // past the end
    ASSERT_TRUE(run_until(1));
    EXPECT_NE(r.status, IoStatus::success);
    const stats::IoStats s = bdev_->stats().snapshot();
    EXPECT_EQ(s.op(IoType::read).ops, 0U);
    EXPECT_EQ(s.errors[static_cast<size_t>(r.status)], 1U);
}

TEST_F(BdevChannelTest, QosHoldsRequestsBackAndReleasesThemInOrder) {
    bdev_->qos().set_limits({.rw_ios_per_sec = 1000});  // one I/O per millisecond
    IoRequest r[4];
    for (int i = 0; i < 4; ++i)
        submit(r[i], IoType::write, i * 4096, 4096);
    ASSERT_TRUE(run_until(4));
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(order_.done[i], &r[i]);
    const stats::IoStats s = bdev_->stats().snapshot();
    EXPECT_GE(s.qos_queued, 1U);
    // Four requests at one per millisecond need at least three slice changes.
    EXPECT_GE(s.op(IoType::write).latency_max, 2'000'000U);
}

TEST_F(BdevChannelTest, LiftingQosReleasesHeldRequests) {
    bdev_->qos().set_limits({.rw_ios_per_sec = 1000});
    std::vector<IoRequest> r(32);
    for (size_t i = 0; i < r.size(); ++i)
        submit(r[i], IoType::read, i * 512, 512);
    reactor_->run_once();
    EXPECT_LT(order_.done.size(), r.size());
    bdev_->qos().set_limits({});
    ASSERT_TRUE(run_until(r.size(), 20ms));
}

}  // namespace
}  // namespace vhostd::block

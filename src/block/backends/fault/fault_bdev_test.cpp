// Fault bdevs over a malloc bdev on a real reactor: the delay bdev holds completions for its
// latency; the error bdev fails, stalls and corrupts exactly the requests it was told to, and
// both claim their base.
#include <chrono>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "block/backends/fault/fault_bdevs.hpp"
#include "block/backends/malloc/malloc_bdev.hpp"
#include "block/bdev.hpp"
#include "block/stats/clock.hpp"

namespace vhostd::block {
namespace {

using namespace std::chrono_literals;

struct Sink final : IoCompletion {
    std::vector<IoRequest*> done;
    void io_complete(IoRequest& r) noexcept override { done.push_back(&r); }
};

class FaultBdevTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto base = bdev_malloc_create({"Malloc0", 1024, 512, {}});
        ASSERT_TRUE(base.has_value());
        ASSERT_TRUE(bdevs_.add(*base).has_value());
        reactor_ = std::move(*reactor::Reactor::create(0, {reactor::PollMode::never, 100us, -1}));
    }
    void TearDown() override {
        channel_.reset();  // before the bdev it was opened on (open_channel's contract)
        opened_.reset();
    }

    void open(const std::shared_ptr<Bdev>& bdev) {
        opened_ = bdev;
        auto channel = open_channel_now(*bdev, *reactor_);
        ASSERT_TRUE(channel.has_value()) << channel.error().describe();
        channel_ = std::move(*channel);
    }
    void submit(IoRequest& r, IoType type, uint64_t offset, std::vector<uint8_t>& buffer) {
        iovs_.push_back(std::make_unique<iovec>(iovec{buffer.data(), buffer.size()}));
        r = IoRequest{.type = type,
                      .offset = offset,
                      .length = buffer.size(),
                      .iov = iovs_.back().get(),
                      .iovcnt = 1,
                      .completion = &sink_};
        channel_->submit(r);
    }
    bool run_until(size_t n, std::chrono::milliseconds limit = 2000ms) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (sink_.done.size() < n) {
            if (std::chrono::steady_clock::now() > deadline) {
                return false;
            }
            reactor_->run_once();
        }
        return true;
    }

    BdevRegistry bdevs_;
    std::unique_ptr<reactor::Reactor> reactor_;
    std::shared_ptr<Bdev> opened_;  // the test's stacked bdev is in no registry: keep it here
    std::unique_ptr<IoChannel> channel_;
    Sink sink_;
    std::vector<std::unique_ptr<iovec>> iovs_;
};

TEST_F(FaultBdevTest, DelayHoldsCompletionsForTheAverageLatency) {
    auto delay = bdev_delay_create({.name = "Delay0",
                                    .base_bdev_name = "Malloc0",
                                    .avg_read_latency_us = 20000,
                                    .p99_read_latency_us = 20000,
                                    .avg_write_latency_us = 0,
                                    .p99_write_latency_us = 0},
                                   bdevs_);
    ASSERT_TRUE(delay.has_value()) << delay.error().describe();
    EXPECT_NE(bdevs_.claimed_by("Malloc0"), nullptr);
    EXPECT_EQ((*delay)->driver(), "delay");
    EXPECT_EQ((*delay)->num_blocks(), 1024U);
    open(*delay);
    std::vector<uint8_t> data(4096, 0x5a);
    IoRequest w;
    submit(w, IoType::write, 0, data);
    ASSERT_TRUE(run_until(1));
    EXPECT_EQ(w.status, IoStatus::success);

    std::vector<uint8_t> back(4096);
    IoRequest r;
    const uint64_t start = stats::now_ticks();
    submit(r, IoType::read, 0, back);
    ASSERT_TRUE(run_until(2));
    EXPECT_GE(stats::now_ticks() - start, 20'000'000U) << "completed before its latency";
    EXPECT_EQ(back, data);

    EXPECT_FALSE(bdev_delay_update_latency(**delay, LatencyKind::p99_read, 10).has_value())
        << "a p99 below its average";
    ASSERT_TRUE(bdev_delay_update_latency(**delay, LatencyKind::avg_read, 0).has_value());
    EXPECT_EQ((*delay)->driver_specific()["delay"]["avg_read_latency"], 0);
    EXPECT_EQ((*delay)->config_calls()[0]["method"], "bdev_delay_create");

    channel_.reset();
    release_fault_base(**delay, bdevs_);
    EXPECT_EQ(bdevs_.claimed_by("Malloc0"), nullptr);
}

TEST_F(FaultBdevTest, ErrorFailsExactlyTheInjectedRequests) {
    auto ee = bdev_error_create("Malloc0", "", bdevs_);
    ASSERT_TRUE(ee.has_value()) << ee.error().describe();
    EXPECT_EQ((*ee)->name(), "EE_Malloc0");
    EXPECT_FALSE(bdev_error_create("Malloc0", "", bdevs_).has_value()) << "base already claimed";
    open(*ee);
    ASSERT_TRUE(
        bdev_error_inject(**ee, {.read = true, .type = ErrorType::failure, .num = 2}).has_value());
    std::vector<uint8_t> buf(512);
    IoRequest r[4];
    IoRequest w;
    submit(w, IoType::write, 0, buf);  // writes are not injected
    for (auto& req : r) {
        submit(req, IoType::read, 0, buf);
    }
    ASSERT_TRUE(run_until(5));
    EXPECT_EQ(w.status, IoStatus::success);
    EXPECT_EQ(r[0].status, IoStatus::io_error);
    EXPECT_EQ(r[1].status, IoStatus::io_error);
    EXPECT_EQ(r[2].status, IoStatus::success);
    EXPECT_EQ(r[3].status, IoStatus::success);
}

TEST_F(FaultBdevTest, PendingStallsUntilResumed) {
    auto ee = bdev_error_create("Malloc0", "", bdevs_);
    ASSERT_TRUE(ee.has_value());
    open(*ee);
    ASSERT_TRUE(
        bdev_error_inject(**ee, {.write = true, .type = ErrorType::pending, .num = 1}).has_value());
    std::vector<uint8_t> buf(512, 1);
    IoRequest stalled;
    IoRequest after;
    submit(stalled, IoType::write, 0, buf);
    submit(after, IoType::write, 512, buf);
    ASSERT_TRUE(run_until(1));
    EXPECT_EQ(sink_.done[0], &after) << "the second write is not held";
    for (int i = 0; i < 50; ++i) {
        reactor_->run_once();
    }
    EXPECT_EQ(sink_.done.size(), 1U) << "a pending request completed by itself";
    ASSERT_TRUE(bdev_error_resume_pending(**ee).has_value());
    ASSERT_TRUE(run_until(2));
    EXPECT_EQ(stalled.status, IoStatus::success);
}

TEST_F(FaultBdevTest, CorruptDataFlipsOneByteOfAReadAndQueueDepthGates) {
    auto ee = bdev_error_create("Malloc0", "", bdevs_);
    ASSERT_TRUE(ee.has_value());
    open(*ee);
    EXPECT_FALSE(bdev_error_inject(
                     **ee, {.write = true, .type = ErrorType::corrupt_data, .corrupt_value = 1})
                     .has_value());
    ASSERT_TRUE(bdev_error_inject(**ee, {.read = true,
                                         .type = ErrorType::corrupt_data,
                                         .num = 1,
                                         .queue_depth = 1,
                                         .corrupt_offset = 3,
                                         .corrupt_value = 0xff})
                    .has_value());
    std::vector<uint8_t> a(512, 0);
    std::vector<uint8_t> b(512, 0);
    IoRequest alone;
    submit(alone, IoType::read, 0, a);  // no other in flight: below the queue depth
    ASSERT_TRUE(run_until(1));
    EXPECT_EQ(a[3], 0);
    IoRequest first;
    IoRequest second;
    submit(first, IoType::read, 0, a);
    submit(second, IoType::read, 0, b);  // one other in flight: injected
    ASSERT_TRUE(run_until(3));
    EXPECT_EQ(a[3], 0);
    EXPECT_EQ(b[3], 0xff);
    EXPECT_EQ(b[2], 0);
    ASSERT_TRUE(bdev_error_inject(**ee, {}).has_value());  // clear
}

}  // namespace
}  // namespace vhostd::block

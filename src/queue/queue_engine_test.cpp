// QueueEngine: batches bounded by the free request contexts, stop that waits for requests in
// flight, interrupt-mode delegation, statistics.
#include "queue/queue_engine.hpp"

#include <deque>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "queue/request_pool.hpp"

namespace vhostd::queue {
namespace {

using namespace std::chrono_literals;

struct Request {
    uint32_t slot = 0;
};

// A transport that hands out the slots in `ring` and a device that holds every request until
// the test completes it.
class TestQueue final : public QueueEngine {
  public:
    TestQueue(reactor::Reactor& r, size_t depth) : QueueEngine(r), pool(depth) {}

    std::deque<uint32_t> ring;
    RequestPool<Request> pool;
    std::vector<Request*> held;
    size_t published = 0;
    size_t owed_sent = 0;
    bool broken = false;
    bool armed = false;
    size_t max_batch_seen = 0;

    void complete_one() {
        Request* r = held.front();
        held.erase(held.begin());
        pool.release(r);
        request_finished();
    }

  protected:
    void publish() noexcept override { ++published; }
    void publish_owed() noexcept override { ++owed_sent; }
    [[nodiscard]] bool accepting() const noexcept override { return !broken; }
    size_t take(std::span<uint32_t> slots) noexcept override {
        max_batch_seen = std::max(max_batch_seen, slots.size());
        size_t n = 0;
        while (n < slots.size() && !ring.empty()) {
            slots[n++] = ring.front();
            ring.pop_front();
        }
        return n;
    }
    bool arm_notifications() noexcept override {
        armed = true;
        return ring.empty();
    }
    void disarm_notifications() noexcept override { armed = false; }
    [[nodiscard]] size_t free_requests() const noexcept override { return pool.available(); }
    void start_request(uint32_t slot) noexcept override {
        Request* r = pool.acquire();
        r->slot = slot;
        request_started();
        held.push_back(r);
    }
};

std::unique_ptr<reactor::Reactor> make_reactor() {
    return reactor::Reactor::create(0, {reactor::PollMode::never, 100us, -1}).value();
}

TEST(QueueEngine, BatchesAreBoundedByTheBatchSizeAndTheFreeContexts) {
    auto r = make_reactor();
    TestQueue q(*r, 40);
    q.start_polling();
    for (uint32_t i = 0; i < 100; ++i) {
        q.ring.push_back(i);
    }
    r->run_once();
    EXPECT_EQ(q.held.size(), QueueEngine::kMaxBatch);
    r->run_once();
    EXPECT_EQ(q.held.size(), 40U) << "pool exhausted: no more taken than contexts";
    EXPECT_EQ(q.ring.size(), 60U) << "the rest waits in the ring, nothing is lost";
    r->run_once();
    EXPECT_EQ(q.held.size(), 40U);
    q.complete_one();
    r->run_once();
    EXPECT_EQ(q.held.size(), 40U);
    EXPECT_EQ(q.held.back()->slot, 40U) << "in ring order";
    EXPECT_EQ(q.stats().requests.load(), 41U);
    EXPECT_EQ(q.stats().completions.load(), 1U);
    EXPECT_EQ(q.stats().inflight.load(), 40U);
    EXPECT_EQ(q.inflight(), 40U);
    EXPECT_GE(q.stats().idle_polls.load(), 1U);
    while (!q.held.empty()) {
        q.complete_one();
    }
    std::optional<bool> stopped;
    q.stop([&] { stopped = true; });
    EXPECT_TRUE(stopped);
}

TEST(QueueEngine, StopWaitsForEveryRequestInFlightAndTakesNoMore) {
    auto r = make_reactor();
    TestQueue q(*r, 8);
    q.start_polling();
    q.ring = {1, 2, 3};
    r->run_once();
    ASSERT_EQ(q.held.size(), 3U);
    bool stopped = false;
    q.stop([&] { stopped = true; });
    EXPECT_FALSE(stopped);
    q.ring.push_back(4);
    r->run_once();
    EXPECT_EQ(q.held.size(), 3U) << "a stopping queue takes nothing new";
    q.complete_one();
    q.complete_one();
    EXPECT_FALSE(stopped);
    const size_t owed_before = q.owed_sent;
    q.complete_one();
    EXPECT_TRUE(stopped) << "the last completion ends the stop";
    EXPECT_GT(q.owed_sent, owed_before) << "nothing may stay owed after a stop";
    EXPECT_EQ(q.ring.size(), 1U);
}

TEST(QueueEngine, InterruptModeAsksTheTransportUnlessBrokenOrStopping) {
    auto r = make_reactor();
    TestQueue q(*r, 8);
    EXPECT_TRUE(q.enter_interrupt_mode());
    EXPECT_TRUE(q.armed);
    q.leave_interrupt_mode();
    EXPECT_FALSE(q.armed);
    q.ring.push_back(1);
    EXPECT_FALSE(q.enter_interrupt_mode()) << "work arrived: must not sleep";
    q.leave_interrupt_mode();
    q.broken = true;
    q.armed = false;
    EXPECT_TRUE(q.enter_interrupt_mode());
    EXPECT_FALSE(q.armed) << "a broken queue takes nothing: no notification to arm";
    q.start_polling();
    r->run_once();
    EXPECT_TRUE(q.held.empty()) << "a broken queue takes nothing";
}

}  // namespace
}  // namespace vhostd::queue

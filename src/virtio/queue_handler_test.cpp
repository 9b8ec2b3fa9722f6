// QueueHandler: batching, deferred completion, drain-before-stop, interrupt mode, breakage.
#include "virtio/queue_handler.hpp"

#include <array>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "base/event_fd.hpp"
#include "support/fake_driver.hpp"

namespace vhostd::virtio {
namespace {

using testing::FakeDriver;

// Takes requests and holds them until the test completes them (like a backend would).
class HoldingHandler : public QueueHandler {
  public:
    using QueueHandler::QueueHandler;
    std::vector<uint16_t> held;

    void complete_all() {
        for (uint16_t head : held)
            complete(head, 1, {});
        held.clear();
    }
    void complete_one(size_t i) {
        complete(held.at(i), 1, {});
        held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
    }

  protected:
    [[nodiscard]] size_t free_requests() const noexcept override { return 64; }
    void start_request(uint32_t head) noexcept override {
        std::array<iovec, 4> iov{};
        DescriptorChain chain = queue().ring().walk(static_cast<uint16_t>(head), {8, 1 << 20}, iov);
        if (is_ring_error(chain.error)) {
            return;
        }
        request_started();
        held.push_back(static_cast<uint16_t>(head));
    }
};

class QueueHandlerTest : public ::testing::Test {
  protected:
    FakeDriver driver{8};
    std::unique_ptr<reactor::Reactor> reactor =
        reactor::Reactor::create(0, {reactor::PollMode::always, {}, -1}).value();
    UniqueFd call = make_event_fd().value();
    UniqueFd err = make_event_fd().value();
    int call_fd = call.get();
    int err_fd = err.get();

    std::unique_ptr<HoldingHandler> make_handler(uint64_t features = 0,
                                                 guest_memory::GuestMemory::Ptr memory = nullptr) {
        VirtqueueConfig config;
        config.ring = driver.ring();
        config.memory = memory ? std::move(memory) : driver.memory();
        config.features = features;
        config.call = std::move(call);
        config.err = std::move(err);
        auto handler = std::make_unique<HoldingHandler>(*reactor, RunningQueue(std::move(config)));
        EXPECT_TRUE(handler->start().has_value());
        return handler;
    }

    void submit() { driver.submit({{driver.alloc(1), 1, true}}); }
};

TEST_F(QueueHandlerTest, CompletionsArePublishedInOneBatchWithOneCall) {
    auto handler = make_handler();
    submit();
    submit();
    reactor->run_once();
    ASSERT_EQ(handler->held.size(), 2U);
    EXPECT_EQ(driver.used_idx(), 0);
    handler->complete_all();
    EXPECT_EQ(driver.used_idx(), 0);  // not yet published
    reactor->run_once();
    EXPECT_EQ(driver.used_idx(), 2);
    EXPECT_TRUE(drain_event_fd(call_fd));
    EXPECT_FALSE(drain_event_fd(call_fd));
}

TEST_F(QueueHandlerTest, StopWaitsForInflightRequests) {
    auto handler = make_handler();
    submit();
    reactor->run_once();
    std::optional<QueueStopResult> stopped;
    handler->stop([&](QueueStopResult r) { stopped = r; });
    submit();  // arrives after stop: must not be taken
    reactor->run_once();
    EXPECT_FALSE(stopped.has_value());
    EXPECT_EQ(handler->held.size(), 1U);
    handler->complete_all();
    ASSERT_TRUE(stopped.has_value());
    EXPECT_EQ(stopped->ring_base, 1);
    EXPECT_FALSE(stopped->broken);
    EXPECT_EQ(driver.used_idx(), 1);
}

TEST_F(QueueHandlerTest, StopWithNothingInflightIsImmediate) {
    auto handler = make_handler();
    bool stopped = false;
    handler->stop([&](QueueStopResult) { stopped = true; });
    EXPECT_TRUE(stopped);
}

TEST_F(QueueHandlerTest, InterruptModeVetoedByPendingWork) {
    auto handler = make_handler();
    EXPECT_TRUE(handler->enter_interrupt_mode());
    EXPECT_EQ(driver.used_flags(), 0);  // kicks requested
    handler->leave_interrupt_mode();
    EXPECT_EQ(driver.used_flags(), kUsedFlagNoNotify);
    submit();
    EXPECT_FALSE(handler->enter_interrupt_mode());
    handler->leave_interrupt_mode();
}

TEST_F(QueueHandlerTest, BrokenRingSignalsErrorFdAndStopsTakingRequests) {
    auto handler = make_handler();
    driver.push_avail(42);  // head out of range
    reactor->run_once();
    EXPECT_TRUE(handler->queue().broken());
    EXPECT_TRUE(drain_event_fd(err_fd));
    submit();
    reactor->run_once();
    EXPECT_TRUE(handler->held.empty());
    std::optional<QueueStopResult> stopped;
    handler->stop([&](QueueStopResult r) { stopped = r; });
    ASSERT_TRUE(stopped.has_value());
    EXPECT_TRUE(stopped->broken);
}

// A snapshot of the driver's RAM of its own (the same regions), to watch its lifetime.
guest_memory::GuestMemory::Ptr copy_of(const guest_memory::GuestMemory& memory) {
    const auto regions = memory.regions();
    return guest_memory::GuestMemory::create(
               std::vector<guest_memory::GuestMemory::RegionPtr>(regions.begin(), regions.end()))
        .value();
}

TEST_F(QueueHandlerTest, RemovalKeepsTheOldTableUntilItsRequestsComplete) {
    auto first = copy_of(*driver.memory());
    std::weak_ptr<const guest_memory::GuestMemory> old = first;
    auto handler = make_handler(0, std::move(first));
    submit();
    submit();
    reactor->run_once();
    ASSERT_EQ(handler->held.size(), 2U);

    bool released = false;
    handler->update_memory(copy_of(*driver.memory()), true, [&] { released = true; });
    EXPECT_FALSE(released);  // two requests may point into a region the new table lacks
    EXPECT_FALSE(old.expired());
    submit();  // taken under the new table: not waited for
    reactor->run_once();
    ASSERT_EQ(handler->held.size(), 3U);
    handler->complete_one(2);
    EXPECT_FALSE(released);
    handler->complete_one(0);
    EXPECT_FALSE(released);
    handler->complete_one(0);
    EXPECT_TRUE(released);
    EXPECT_TRUE(old.expired());  // unmapped once nothing points into it
    reactor->run_once();
    EXPECT_EQ(driver.used_idx(), 3);  // the queue never stopped
}

TEST_F(QueueHandlerTest, AdditionAndIdleRemovalAnswerAtOnce) {
    auto handler = make_handler();
    submit();
    reactor->run_once();
    bool added = false;
    handler->update_memory(copy_of(*driver.memory()), false, [&] { added = true; });
    EXPECT_TRUE(added);  // an added region invalidates nothing in flight
    handler->complete_all();
    bool removed = false;
    handler->update_memory(copy_of(*driver.memory()), true, [&] { removed = true; });
    EXPECT_TRUE(removed);  // nothing in flight
    submit();
    reactor->run_once();
    handler->complete_all();
    reactor->run_once();
    EXPECT_EQ(driver.used_idx(), 2);
}

}  // namespace
}  // namespace vhostd::virtio

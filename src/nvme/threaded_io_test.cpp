// The controller on I/O reactors that run on their own threads, as in the daemon: several
// queue pairs on two reactors moving data at once; adaptive polling in trapped mode, where a
// sleeping reactor is woken by doorbell writes, with and without shadow doorbells (the
// EventIdx asks for a real doorbell only while the queue sleeps), under repeated idle gaps
// without losing a submission; and mapped mode, whose reactors never sleep. No timing is
// asserted: every wait is for a condition, with a generous bound.
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "block/backends/malloc/malloc_bdev.hpp"
#include "nvme/controller.hpp"
#include "support/nvme_driver.hpp"

namespace vhostd::nvme {
namespace {

using namespace nvme_spec;
using namespace std::chrono_literals;
using testing::FakeNvmeDriver;
using testing::GuestRam;

class ThreadedIoTest : public ::testing::Test {
  protected:
    std::unique_ptr<reactor::Reactor> control =
        reactor::Reactor::create(100, {reactor::PollMode::always, {}, -1}).value();
    std::vector<std::unique_ptr<reactor::Reactor>> io;
    std::vector<std::thread> threads;
    std::shared_ptr<block::Bdev> bdev =
        block::bdev_malloc_create({.name = "Malloc0", .num_blocks = 16384}).value();
    GuestRam ram{32 << 20};
    std::unique_ptr<Controller> controller;
    std::unique_ptr<FakeNvmeDriver> driver;

    void start(ControllerOptions options, reactor::PollMode mode) {
        for (unsigned i = 0; i < 2; ++i) {
            io.push_back(reactor::Reactor::create(i, {mode, 50us, -1}).value());
        }
        std::vector<reactor::Reactor*> raw{io[0].get(), io[1].get()};
        controller = Controller::create(*control, raw, options).value();
        for (auto& r : io) {
            threads.emplace_back([r = r.get()] { r->run(); });
        }
        driver = std::make_unique<FakeNvmeDriver>(*controller, ram, [this] {
            control->run_once();
            std::this_thread::yield();
        });
        driver->map_memory();
        ASSERT_TRUE(controller->add_namespace({.nsid = 1, .bdev = bdev}).has_value());
        ASSERT_TRUE(driver->wait_for([&] { return controller->namespaces()[0].active; }));
        ASSERT_TRUE(driver->enable());
    }

    void TearDown() override {
        driver.reset();
        if (controller) {
            bool down = false;
            controller->shutdown([&] { down = true; });
            const auto deadline = std::chrono::steady_clock::now() + 60s;
            while (!down && std::chrono::steady_clock::now() < deadline) {
                control->run_once();
                std::this_thread::yield();
            }
            EXPECT_TRUE(down);
        }
        for (auto& r : io) {
            r->request_stop();
        }
        for (auto& t : threads) {
            t.join();
        }
        for (int i = 0; i < 10; ++i) {
            control->run_once();
        }
        controller.reset();
    }

    static uint16_t status_of(const std::optional<Completion>& c) {
        return c ? static_cast<uint16_t>(c->status >> 1) : 0xffff;
    }
    uint64_t sleeps(unsigned reactor) const {
        return io[reactor]->stats().sleeps.load(std::memory_order_relaxed);
    }
};

TEST_F(ThreadedIoTest, FourQueuePairsOnTwoReactorsMoveDataAtOnce) {
    start(ControllerOptions{}, reactor::PollMode::always);
    constexpr int kQueues = 4;
    constexpr int kPerQueue = 48;
    for (uint16_t qid = 1; qid <= kQueues; ++qid) {
        ASSERT_TRUE(driver->create_io_queues(qid, 64, qid));
    }
    // Every queue writes its own LBAs with its own pattern, all in flight together.
    std::vector<uint64_t> buffers;
    std::vector<std::pair<uint16_t, uint16_t>> pending;  // qid, cid
    for (int i = 0; i < kPerQueue; ++i) {
        for (uint16_t qid = 1; qid <= kQueues; ++qid) {
            const uint64_t buffer = ram.alloc(4096);
            std::memset(ram.host(buffer), qid * 16 + i % 16, 4096);
            buffers.push_back(buffer);
            const uint64_t lba = (uint64_t{qid} * kPerQueue + i) * 8;
            pending.emplace_back(
                qid, driver->submit(driver->queue(qid),
                                    FakeNvmeDriver::read_write(true, 1, lba, 8, buffer)));
        }
    }
    for (auto [qid, cid] : pending) {
        ASSERT_EQ(status_of(driver->wait_completion(driver->queue(qid), cid)), 0u);
    }
    for (int i = 0; i < kPerQueue; ++i) {
        for (uint16_t qid = 1; qid <= kQueues; ++qid) {
            const uint64_t back = ram.alloc(4096);
            const uint64_t lba = (uint64_t{qid} * kPerQueue + i) * 8;
            ASSERT_EQ(status_of(driver->run(driver->queue(qid),
                                            FakeNvmeDriver::read_write(false, 1, lba, 8, back))),
                      0u);
            ASSERT_EQ(ram.host(back)[4095], qid * 16 + i % 16);
        }
    }
    const auto stats = controller->queue_stats();
    ASSERT_EQ(stats.size(), 5u);
    EXPECT_NE(stats[1].reactor, stats[2].reactor);  // queue i on reactor i mod 2
    EXPECT_EQ(stats[1].reactor, stats[3].reactor);
}

// Trapped doorbells without shadow buffers: each submission after an idle gap lands while
// the queue's reactor may be asleep; the doorbell's region write must wake it every time.
TEST_F(ThreadedIoTest, TrappedDoorbellsWakeASleepingReactor) {
    start(ControllerOptions{.doorbell_mode = DoorbellMode::trapped}, reactor::PollMode::adaptive);
    ASSERT_TRUE(driver->create_io_queues(1, 32, 1));
    const uint64_t data = ram.alloc(4096);
    int after_sleep = 0;
    // Sleeps counted before the last submission: once the count passes it, the reactor went
    // to sleep after taking that submission (a reactor asleep at the mark is woken by the
    // submission first).
    uint64_t mark = sleeps(1);
    for (int round = 0; round < 60; ++round) {
        if (round % 2 == 1) {
            ASSERT_TRUE(driver->wait_for([&] { return sleeps(1) > mark; }, 20'000'000));
            ++after_sleep;
        }
        mark = sleeps(1);
        ASSERT_EQ(status_of(driver->run(driver->queue(1),
                                        FakeNvmeDriver::read_write(false, 1, round, 1, data))),
                  0u)
            << round;
    }
    EXPECT_EQ(after_sleep, 30);
}

// Shadow doorbells in trapped mode: while the reactor polls, submissions need no doorbell;
// when it sleeps the EventIdx asks for one, which wakes it. Random idle gaps put submissions
// on every side of the arm/sleep race; none may be lost.
TEST_F(ThreadedIoTest, ShadowEventIdxWakesTheQueueWithoutLosingSubmissions) {
    start(ControllerOptions{.doorbell_mode = DoorbellMode::trapped}, reactor::PollMode::adaptive);
    ASSERT_TRUE(driver->create_io_queues(1, 32, 1));
    ASSERT_TRUE(driver->enable_shadow_doorbells());
    const uint64_t data = ram.alloc(4096);
    std::mt19937 random(42);
    const uint64_t rung_before = driver->doorbell_writes;
    uint64_t asleep_submissions = 0;
    uint64_t mark = sleeps(1);
    for (int round = 0; round < 200; ++round) {
        if (round % 4 == 1) {
            ASSERT_TRUE(driver->wait_for([&] { return sleeps(1) > mark; }, 20'000'000));
            ++asleep_submissions;
        } else {
            // An idle gap around the reactor's 50 µs threshold, to land near the arming.
            std::this_thread::sleep_for(std::chrono::microseconds(random() % 120));
        }
        mark = sleeps(1);
        const uint16_t cid =
            driver->submit(driver->queue(1), FakeNvmeDriver::read_write(false, 1, round, 1, data));
        ASSERT_EQ(status_of(driver->wait_completion(driver->queue(1), cid)), 0u) << round;
    }
    // Real doorbells were asked for (the queue slept between rounds), and the rounds that
    // found it polling needed none.
    const uint64_t rung = driver->doorbell_writes - rung_before;
    EXPECT_GE(rung, 1u);
    EXPECT_LT(rung, 200u + asleep_submissions);
    EXPECT_GT(driver->doorbell_writes_skipped, 0u);
}

// Mapped doorbells wake nobody, so a reactor serving a mapped queue must never sleep.
TEST_F(ThreadedIoTest, MappedQueuesKeepTheirReactorPolling) {
    start(ControllerOptions{}, reactor::PollMode::adaptive);
    ASSERT_TRUE(driver->create_io_queues(1, 32, 1));
    const uint64_t data = ram.alloc(4096);
    ASSERT_EQ(
        status_of(driver->run(driver->queue(1), FakeNvmeDriver::read_write(false, 1, 0, 1, data))),
        0u);
    const uint64_t before = sleeps(1);
    // Many idle thresholds later the queue is still polled: a mapped doorbell is seen.
    for (int round = 0; round < 20; ++round) {
        std::this_thread::sleep_for(1ms);
        ASSERT_EQ(status_of(driver->run(driver->queue(1),
                                        FakeNvmeDriver::read_write(false, 1, round, 1, data))),
                  0u);
    }
    EXPECT_EQ(sleeps(1), before);
}

}  // namespace
}  // namespace vhostd::nvme

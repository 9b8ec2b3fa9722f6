// Reactor: pollers, messages, timers, fd events, and the adaptive sleep/wake handshake.
#include "reactor/reactor.hpp"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/epoll.h>

#include "base/event_fd.hpp"

namespace vhostd::reactor {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Reactor> make(PollMode mode, std::chrono::microseconds threshold = 100us) {
    auto r = Reactor::create(0, ReactorOptions{mode, threshold, -1});
    EXPECT_TRUE(r.has_value());
    return std::move(*r);
}

// Counts polls; reports busy while `work` is positive and consumes one unit per poll.
struct CountingPoller : Poller {
    std::atomic<int> work{0};
    std::atomic<uint64_t> polls{0};
    std::atomic<int> entered{0};
    std::atomic<int> left{0};
    PollResult poll() noexcept override {
        polls.fetch_add(1);
        if (work.load() > 0) {
            work.fetch_sub(1);
            return PollResult::busy;
        }
        return PollResult::idle;
    }
    bool enter_interrupt_mode() noexcept override {
        entered.fetch_add(1);
        return work.load() == 0;
    }
    void leave_interrupt_mode() noexcept override { left.fetch_add(1); }
};

// Always busy; stops the reactor on the first iteration that finds `fd` no longer readable.
struct FdDrainedPoller : Poller {
    FdDrainedPoller(Reactor& r, int f) : reactor(r), fd(f) {}
    PollResult poll() noexcept override {
        ++polls;
        pollfd pfd{.fd = fd, .events = POLLIN, .revents = 0};
        if (::poll(&pfd, 1, 0) == 0) {
            reactor.request_stop();
        }
        return PollResult::busy;
    }
    Reactor& reactor;
    int fd;
    uint64_t polls = 0;
};

template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

TEST(Reactor, RunsPostedMessagesInOrderOnItsThread) {
    auto reactor = make(PollMode::adaptive);
    std::thread loop([&] { reactor->run(); });
    std::vector<int> seen;
    std::thread::id ran_on;
    for (int i = 0; i < 100; ++i) {
        reactor->post([&, i] {
            seen.push_back(i);
            ran_on = std::this_thread::get_id();
        });
    }
    run_sync(*reactor, [] {});
    const std::thread::id loop_id = loop.get_id();
    reactor->request_stop();
    loop.join();
    ASSERT_EQ(seen.size(), 100U);
    for (int i = 0; i < 100; ++i)
        EXPECT_EQ(seen[i], i);
    EXPECT_EQ(ran_on, loop_id);
}

TEST(Reactor, PollerRemovedFromInsidePollIsNotCalledAgain) {
    auto reactor = make(PollMode::always);
    struct SelfRemoving : Poller {
        Reactor* r = nullptr;
        int calls = 0;
        PollResult poll() noexcept override {
            ++calls;
            r->remove_poller(*this);
            return PollResult::idle;
        }
    } poller;
    poller.r = reactor.get();
    reactor->add_poller(poller);
    reactor->run_once();
    reactor->run_once();
    EXPECT_EQ(poller.calls, 1);
}

TEST(Reactor, AdaptiveModeSleepsWhenIdleAndWakesOnMessage) {
    auto reactor = make(PollMode::adaptive, 200us);
    CountingPoller poller;
    reactor->add_poller(poller);
    std::thread loop([&] { reactor->run(); });
    ASSERT_TRUE(wait_for([&] { return reactor->stats().sleeps.load() > 0; }));
    // Asleep: the poller is no longer called.
    const uint64_t polls = poller.polls.load();
    std::this_thread::sleep_for(50ms);
    EXPECT_LE(poller.polls.load(), polls + 2);
    EXPECT_EQ(poller.entered.load(), poller.left.load() + 1);
    // A message wakes it and polling resumes.
    std::atomic<bool> ran{false};
    reactor->post([&] { ran = true; });
    ASSERT_TRUE(wait_for([&] { return ran.load(); }));
    ASSERT_TRUE(wait_for([&] { return poller.polls.load() > polls + 10; }));
    reactor->request_stop();
    loop.join();
    EXPECT_EQ(poller.entered.load(), poller.left.load());
}

TEST(Reactor, PollerWithPendingWorkVetoesSleep) {
    auto reactor = make(PollMode::never);
    CountingPoller poller;
    poller.work = 1'000'000'000;  // never runs dry within the test
    reactor->add_poller(poller);
    std::thread loop([&] { reactor->run(); });
    std::this_thread::sleep_for(20ms);
    reactor->request_stop();
    loop.join();
    EXPECT_EQ(reactor->stats().sleeps.load(), 0U);
}

TEST(Reactor, AlwaysModeNeverSleeps) {
    auto reactor = make(PollMode::always);
    CountingPoller poller;
    reactor->add_poller(poller);
    std::thread loop([&] { reactor->run(); });
    std::this_thread::sleep_for(20ms);
    reactor->request_stop();
    loop.join();
    EXPECT_EQ(reactor->stats().sleeps.load(), 0U);
    EXPECT_GT(poller.polls.load(), 100U);
}

TEST(Reactor, FdEventWakesSleepingReactor) {
    auto reactor = make(PollMode::never);
    auto efd = make_event_fd();
    ASSERT_TRUE(efd.has_value());
    std::atomic<int> events{0};
    ASSERT_TRUE(reactor->watch_fd(efd->get(), EPOLLIN, [&](uint32_t) {
        drain_event_fd(efd->get());
        events.fetch_add(1);
    }));
    std::thread loop([&] { reactor->run(); });
    ASSERT_TRUE(wait_for([&] { return reactor->stats().sleeps.load() > 0; }));
    signal_event_fd(efd->get());
    EXPECT_TRUE(wait_for([&] { return events.load() == 1; }));
    reactor->request_stop();
    loop.join();
}

// While polling, a watch_fd fd (a socket with data for its callback) is looked at every few
// dozen iterations, a wake fd (drained by the reactor) far more rarely: counted in
// iterations, not time.
TEST(Reactor, BusyReactorLooksAtProgressFdsOftenAndWakeFdsRarely) {
    {
        auto reactor = make(PollMode::always);
        CountingPoller poller;
        poller.work = 1 << 30;  // busy throughout
        reactor->add_poller(poller);
        auto efd = make_event_fd();
        ASSERT_TRUE(efd.has_value());
        uint64_t polls_at_event = 0;
        ASSERT_TRUE(reactor->watch_fd(efd->get(), EPOLLIN, [&](uint32_t) {
            drain_event_fd(efd->get());
            polls_at_event = poller.polls.load();
            reactor->request_stop();
        }));
        signal_event_fd(efd->get());  // pending before the first iteration
        reactor->run();
        EXPECT_GT(polls_at_event, 0U);
        EXPECT_LE(polls_at_event, Reactor::kProgressFdCheckInterval);
    }
    {
        auto reactor = make(PollMode::always);
        auto efd = make_event_fd();
        ASSERT_TRUE(efd.has_value());
        ASSERT_TRUE(reactor->watch_wake_fd(efd->get()));
        // Busy, and stops on the first iteration that finds the eventfd drained.
        FdDrainedPoller poller(*reactor, efd->get());
        reactor->add_poller(poller);
        signal_event_fd(efd->get());
        reactor->run();
        EXPECT_GT(poller.polls, Reactor::kProgressFdCheckInterval);
        EXPECT_LE(poller.polls, Reactor::kWakeFdCheckInterval + 1);
    }
}

TEST(Reactor, UnwatchFromOwnCallbackIsSafe) {
    auto reactor = make(PollMode::never);
    auto efd = make_event_fd();
    ASSERT_TRUE(efd.has_value());
    int calls = 0;
    Reactor::FdId id = 0;
    auto watched = reactor->watch_fd(efd->get(), EPOLLIN, [&](uint32_t) {
        ++calls;
        reactor->unwatch_fd(id);
    });
    ASSERT_TRUE(watched.has_value());
    id = *watched;
    signal_event_fd(efd->get());
    reactor->run_once();
    reactor->run_once();
    EXPECT_EQ(calls, 1);
}

TEST(Reactor, TimersFireWhileSleepingAndCanBeCancelled) {
    auto reactor = make(PollMode::never);
    std::atomic<int> fired{0};
    std::thread loop([&] { reactor->run(); });
    Reactor::TimerId id = 0;
    run_sync(*reactor, [&] { id = reactor->add_timer(2ms, [&] { fired.fetch_add(1); }); });
    ASSERT_TRUE(wait_for([&] { return fired.load() >= 3; }));
    run_sync(*reactor, [&] { reactor->cancel_timer(id); });
    const int after_cancel = fired.load();
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(fired.load(), after_cancel);
    reactor->request_stop();
    loop.join();
}

TEST(PollMode, Parses) {
    EXPECT_EQ(parse_poll_mode("always"), PollMode::always);
    EXPECT_EQ(parse_poll_mode("adaptive"), PollMode::adaptive);
    EXPECT_EQ(parse_poll_mode("never"), PollMode::never);
    EXPECT_FALSE(parse_poll_mode("sometimes").has_value());
}

}  // namespace
}  // namespace vhostd::reactor

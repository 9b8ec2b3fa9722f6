// Mailbox: every node posted from any number of threads reaches the owning reactor exactly
// once, in per-producer order, whether the reactor polls or sleeps between posts.
#include "reactor/mailbox.hpp"

#include <array>
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace vhostd::reactor {
namespace {

using namespace std::chrono_literals;

struct Item {
    MailboxNode node;  // first member: the handler converts back with a cast
    uint32_t producer = 0;
    uint32_t seq = 0;
};

Item& item_of(MailboxNode& node) {
    return *reinterpret_cast<Item*>(&node);
}

std::unique_ptr<Reactor> make(PollMode mode) {
    auto r = Reactor::create(0, ReactorOptions{mode, 50us, -1});
    EXPECT_TRUE(r.has_value());
    return std::move(*r);
}

TEST(Mailbox, DeliversOnTheOwnerWithoutPolling) {
    auto reactor = make(PollMode::never);
    std::vector<uint32_t> seen;
    auto mailbox =
        Mailbox::create(*reactor, [&](MailboxNode& n) { seen.push_back(item_of(n).seq); });
    ASSERT_TRUE(mailbox.has_value());
    Item a{.seq = 1};
    Item b{.seq = 2};
    EXPECT_EQ((*mailbox)->poll(), PollResult::idle);
    (*mailbox)->post(a.node);
    (*mailbox)->post(b.node);
    EXPECT_FALSE((*mailbox)->enter_interrupt_mode()) << "work pending: the reactor must not sleep";
    (*mailbox)->leave_interrupt_mode();
    EXPECT_EQ((*mailbox)->poll(), PollResult::busy);
    EXPECT_EQ(seen, (std::vector<uint32_t>{1, 2}));
    EXPECT_TRUE((*mailbox)->enter_interrupt_mode());
    (*mailbox)->leave_interrupt_mode();
    // A node may be posted again once handled.
    (*mailbox)->post(a.node);
    reactor->run_once();
    EXPECT_EQ(seen.size(), 3U);
    mailbox->reset();
}

// Many producers, one sleeping-and-waking reactor: no node lost, none delivered twice, and
// each producer's nodes in the order it posted them. Each producer reposts a node only after
// the reactor has handled it (as a backend's request slot would be), so the test also
// exercises reuse of nodes.
void stress(PollMode mode) {
    constexpr uint32_t kProducers = 8;
    constexpr uint32_t kPerProducer = 20000;
    constexpr uint32_t kSlots = 4;  // nodes each producer cycles through
    auto reactor = make(mode);
    std::array<std::array<Item, kSlots>, kProducers> items{};
    std::array<std::array<std::atomic<bool>, kSlots>, kProducers> busy{};
    std::vector<uint32_t> next_seq(kProducers, 0);  // owner thread only
    std::atomic<uint64_t> handled{0};
    std::atomic<uint64_t> out_of_order{0};

    std::unique_ptr<Mailbox> mailbox;
    auto created = Mailbox::create(*reactor, [&](MailboxNode& n) {
        Item& item = item_of(n);
        if (item.seq != next_seq[item.producer]) {
            out_of_order.fetch_add(1);
        }
        next_seq[item.producer] = item.seq + 1;
        busy[item.producer][item.seq % kSlots].store(false, std::memory_order_release);
        handled.fetch_add(1, std::memory_order_relaxed);
    });
    ASSERT_TRUE(created.has_value());
    mailbox = std::move(*created);

    std::thread loop([&] { reactor->run(); });
    std::vector<std::thread> producers;
    for (uint32_t p = 0; p < kProducers; ++p) {
        producers.emplace_back([&, p] {
            for (uint32_t seq = 0; seq < kPerProducer; ++seq) {
                const uint32_t slot = seq % kSlots;
                while (busy[p][slot].load(std::memory_order_acquire)) {
                    std::this_thread::yield();
                }
                Item& item = items[p][slot];
                item.producer = p;
                item.seq = seq;
                busy[p][slot].store(true, std::memory_order_relaxed);
                mailbox->post(item.node);
                if (seq % 1024 == 0) {
                    std::this_thread::sleep_for(200us);  // let the reactor fall asleep
                }
            }
        });
    }
    for (auto& t : producers) {
        t.join();
    }
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (handled.load() < uint64_t{kProducers} * kPerProducer &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
    }
    run_sync(*reactor, [&] { mailbox.reset(); });
    reactor->request_stop();
    loop.join();
    EXPECT_EQ(handled.load(), uint64_t{kProducers} * kPerProducer) << "lost completions";
    EXPECT_EQ(out_of_order.load(), 0U);
    for (uint32_t p = 0; p < kProducers; ++p) {
        EXPECT_EQ(next_seq[p], kPerProducer) << "producer " << p;
    }
}

TEST(Mailbox, ManyProducersAdaptiveReactor) {
    stress(PollMode::adaptive);
}

TEST(Mailbox, ManyProducersEventDrivenReactor) {
    stress(PollMode::never);
}

TEST(Mailbox, ManyProducersBusyPolling) {
    stress(PollMode::always);
}

}  // namespace
}  // namespace vhostd::reactor

// Interrupts: eventfds set and cleared through SET_IRQS, masks from every source, pending bits
// delivered on unmask, INTx while MSI-X is off, retiring replaced eventfds, refusal of fds that
// are not eventfds, and signals racing an unmasking control thread (none lost).
#include "pci/interrupts.hpp"

#include <atomic>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "base/event_fd.hpp"

namespace vhostd::pci {
namespace {

// An eventfd the test reads, and a duplicate handed to Interrupts.
struct Counter {
    UniqueFd fd = make_event_fd().value();
    UniqueFd dup() const { return UniqueFd(::dup(fd.get())); }
    uint64_t take() const {
        uint64_t count = 0;
        return ::read(fd.get(), &count, sizeof(count)) == sizeof(count) ? count : 0;
    }
};

IrqSet eventfds(uint32_t index, uint32_t start, std::vector<UniqueFd> fds) {
    IrqSet set{.index = index,
               .start = start,
               .count = static_cast<uint32_t>(fds.size()),
               .action = IrqAction::trigger,
               .data = IrqData::eventfd};
    set.fds = std::move(fds);
    return set;
}

IrqSet mask_set(uint32_t index, uint32_t start, uint32_t count, bool mask) {
    return IrqSet{.index = index,
                  .start = start,
                  .count = count,
                  .action = mask ? IrqAction::mask : IrqAction::unmask,
                  .data = IrqData::none};
}

std::vector<UniqueFd> one(UniqueFd fd) {
    std::vector<UniqueFd> fds;
    fds.push_back(std::move(fd));
    return fds;
}

class InterruptsTest : public ::testing::Test {
  protected:
    std::vector<std::shared_ptr<UniqueFd>> retired;
    Interrupts irqs{4, [this](std::shared_ptr<UniqueFd> fd) { retired.push_back(std::move(fd)); }};
    Counter v0, v1, intx;

    void SetUp() override {
        std::vector<UniqueFd> fds;
        fds.push_back(v0.dup());
        fds.push_back(v1.dup());
        ASSERT_TRUE(irqs.set_irqs(eventfds(kMsix, 0, std::move(fds))).has_value());
        ASSERT_TRUE(irqs.set_irqs(eventfds(kIntx, 0, one(intx.dup()))).has_value());
    }
    void enable_unmasked() {
        irqs.set_msix_control(true, false);
        irqs.set_table_mask(0, false);
        irqs.set_table_mask(1, false);
    }
};

TEST_F(InterruptsTest, InfoDeclaresIntxAndMsix) {
    EXPECT_EQ(irqs.info(kIntx).count, 1u);
    EXPECT_TRUE(irqs.info(kIntx).maskable);
    EXPECT_EQ(irqs.info(kMsix).count, 4u);
    EXPECT_TRUE(irqs.info(kMsix).eventfd);
    EXPECT_EQ(irqs.info(kMsi).count, 0u);
}

TEST_F(InterruptsTest, UnmaskedVectorSignalsItsEventfd) {
    enable_unmasked();
    EXPECT_TRUE(irqs.signal(1));
    EXPECT_EQ(v1.take(), 1u);
    EXPECT_EQ(v0.take(), 0u);
    EXPECT_EQ(intx.take(), 0u);   // never INTx while MSI-X is enabled
    EXPECT_TRUE(irqs.signal(3));  // no eventfd set: goes nowhere, no error
    EXPECT_TRUE(irqs.signal(999));
}

TEST_F(InterruptsTest, TableMaskHoldsThenUnmaskDelivers) {
    irqs.set_msix_control(true, false);  // entries start masked (6.8.2.9)
    irqs.signal(0);
    irqs.signal(0);
    EXPECT_EQ(v0.take(), 0u);
    EXPECT_TRUE(irqs.pending(0));
    irqs.set_table_mask(0, false);
    EXPECT_FALSE(irqs.pending(0));
    EXPECT_EQ(v0.take(), 1u);  // one message for what was pending
}

TEST_F(InterruptsTest, FunctionMaskAndClientMaskAreIndependentSources) {
    enable_unmasked();
    irqs.set_msix_control(true, true);
    ASSERT_TRUE(irqs.set_irqs(mask_set(kMsix, 0, 1, true)).has_value());
    irqs.signal(0);
    EXPECT_TRUE(irqs.pending(0));
    irqs.set_msix_control(true, false);  // the client mask still holds it
    EXPECT_EQ(v0.take(), 0u);
    ASSERT_TRUE(irqs.set_irqs(mask_set(kMsix, 0, 1, false)).has_value());
    EXPECT_EQ(v0.take(), 1u);
    EXPECT_FALSE(irqs.pending(0));
}

TEST_F(InterruptsTest, BooleanMaskSelectsVectors) {
    enable_unmasked();
    IrqSet set{.index = kMsix,
               .start = 0,
               .count = 2,
               .action = IrqAction::mask,
               .data = IrqData::boolean};
    set.bools = {false, true};
    ASSERT_TRUE(irqs.set_irqs(std::move(set)).has_value());
    irqs.signal(0);
    irqs.signal(1);
    EXPECT_EQ(v0.take(), 1u);
    EXPECT_EQ(v1.take(), 0u);
    EXPECT_TRUE(irqs.pending(1));
}

TEST_F(InterruptsTest, IntxWhileMsixIsDisabledAndItsMasks) {
    irqs.signal(2);
    EXPECT_EQ(intx.take(), 1u);
    irqs.set_intx_device_mask(true);
    irqs.signal(0);
    EXPECT_EQ(intx.take(), 0u);
    irqs.set_intx_device_mask(false);
    EXPECT_EQ(intx.take(), 1u);
    irqs.set_intx_disabled(true);
    irqs.signal(0);
    EXPECT_EQ(intx.take(), 0u);
}

TEST_F(InterruptsTest, SoftwareTriggerAndDisableAll) {
    enable_unmasked();
    ASSERT_TRUE(irqs.set_irqs(IrqSet{.index = kMsix, .start = 1, .count = 1}).has_value());
    EXPECT_EQ(v1.take(), 1u);
    // count 0 + DATA_NONE + trigger: every vector loses its eventfd, which is retired.
    ASSERT_TRUE(irqs.set_irqs(IrqSet{.index = kMsix, .start = 0, .count = 0}).has_value());
    EXPECT_EQ(retired.size(), 2u);
    irqs.signal(0);
    EXPECT_EQ(v0.take(), 0u);
}

TEST_F(InterruptsTest, ReplacedEventfdIsRetiredNotClosed) {
    enable_unmasked();
    Counter other;
    ASSERT_TRUE(irqs.set_irqs(eventfds(kMsix, 0, one(other.dup()))).has_value());
    ASSERT_EQ(retired.size(), 1u);
    EXPECT_TRUE(retired[0]->valid());  // still open until the owner lets it go
    irqs.signal(0);
    EXPECT_EQ(other.take(), 1u);
    EXPECT_EQ(v0.take(), 0u);
}

TEST_F(InterruptsTest, RefusesFdsThatAreNotEventfds) {
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    UniqueFd read_end(pipe_fds[0]);
    std::vector<UniqueFd> fds;
    fds.push_back(UniqueFd(pipe_fds[1]));
    fds.push_back(v0.dup());
    EXPECT_FALSE(irqs.set_irqs(eventfds(kMsix, 2, std::move(fds))).has_value());
    EXPECT_TRUE(retired.empty());  // nothing changed
}

TEST_F(InterruptsTest, RefusesOutOfRangeSetsAndOtherIndexes) {
    EXPECT_FALSE(irqs.set_irqs(mask_set(kMsix, 3, 2, true)).has_value());
    EXPECT_FALSE(irqs.set_irqs(mask_set(kMsi, 0, 1, true)).has_value());
    EXPECT_TRUE(irqs.set_irqs(IrqSet{.index = kMsi, .start = 0, .count = 0}).has_value());
    IrqSet unmask_fd = eventfds(kMsix, 0, one(v0.dup()));
    unmask_fd.action = IrqAction::unmask;
    EXPECT_FALSE(irqs.set_irqs(std::move(unmask_fd)).has_value());
}

TEST_F(InterruptsTest, ResetReleasesEventfdsAndMasksEverything) {
    enable_unmasked();
    irqs.reset();
    EXPECT_EQ(retired.size(), 3u);  // two vectors and INTx
    EXPECT_FALSE(irqs.msix_enabled());
    irqs.signal(0);  // MSI-X off and no INTx eventfd any more
    EXPECT_EQ(v0.take(), 0u);
    EXPECT_EQ(intx.take(), 0u);
}

// Signals from another thread while this one masks and unmasks: every signal ends up either
// delivered or pending, and unmasking last delivers any pending one, so the eventfd always
// sees at least one notification after the last signal.
TEST_F(InterruptsTest, ConcurrentSignalAndUnmaskLoseNothing) {
    enable_unmasked();
    for (int round = 0; round < 200; ++round) {
        (void)v0.take();
        irqs.set_table_mask(0, true);
        std::atomic<bool> go{false};
        std::thread signaller([&] {
            while (!go.load()) {
            }
            for (int i = 0; i < 50; ++i) {
                irqs.signal(0);
            }
        });
        go.store(true);
        for (int i = 0; i < 50; ++i) {
            irqs.set_table_mask(0, i % 2 == 0);
        }
        signaller.join();
        irqs.set_table_mask(0, false);
        EXPECT_GE(v0.take(), 1u);
        EXPECT_FALSE(irqs.pending(0));
    }
}

}  // namespace
}  // namespace vhostd::pci

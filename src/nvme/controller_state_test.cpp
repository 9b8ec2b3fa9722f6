// Controller registers and state machine: CAP and VS, the PCI identity, BAR0's regions in
// both doorbell modes, enable (CSTS.RDY), invalid enables (CSTS.CFS), disable after the queues
// drained, normal and abrupt shutdown (CSTS.SHST), DEVICE_RESET, register access rules,
// INTMS/INTMC, and guest memory changes while queues run.
#include <cstring>

#include <gtest/gtest.h>

#include "nvme/identify.hpp"
#include "spec/pci.hpp"
#include "support/nvme_fixture.hpp"

namespace vhostd::nvme {
namespace {

using namespace nvme_spec;
using testing::FakeNvmeDriver;
using testing::NvmeControllerTest;

using ControllerStateTest = NvmeControllerTest;

TEST_F(ControllerStateTest, CapabilitiesVersionAndIdentity) {
    make();
    const uint64_t capabilities = driver->read64(reg::kCap);
    EXPECT_EQ(capabilities & cap::kMqesMask, 255u);
    EXPECT_NE(capabilities & cap::kCqr, 0u);
    EXPECT_EQ((capabilities >> cap::kDstrdShift) & 0xf, 0u);
    EXPECT_NE(capabilities & cap::kCssNvm, 0u);
    EXPECT_GT((capabilities >> cap::kToShift) & 0xff, 0u);
    EXPECT_EQ((capabilities >> cap::kMpsminShift) & 0xf, 0u);
    EXPECT_EQ(driver->read32(reg::kVs), version(1, 4));
    EXPECT_EQ(driver->read32(reg::kCsts), 0u);
    std::vector<uint8_t> config(64);
    ASSERT_TRUE(controller->read(pci::kConfig, 0, config).has_value());
    EXPECT_EQ(config[0] | config[1] << 8, kVendorId);
    EXPECT_EQ(config[2] | config[3] << 8, kDeviceId);
    EXPECT_EQ(config[9] | config[10] << 8 | config[11] << 16, pci_spec::kClassNvmExpress);
    EXPECT_EQ(controller->region_info(pci::kBar0).size, Controller::kBar0Size);
    EXPECT_EQ(controller->region_info(1).size, 0u);          // BAR0's upper half
    EXPECT_GT(controller->region_info(4).size, 0u);          // MSI-X table
    EXPECT_GT(controller->region_info(5).size, 0u);          // PBA
    EXPECT_EQ(controller->irq_info(pci::kMsix).count, 17u);  // 16 I/O queues + admin
    EXPECT_EQ(controller->irq_info(pci::kIntx).count, 1u);
}

TEST_F(ControllerStateTest, MappedModeOffersTheDoorbellPageTrappedModeDoesNot) {
    make();
    const pci::RegionInfo mapped = controller->region_info(pci::kBar0);
    ASSERT_EQ(mapped.mmap_areas.size(), 1u);
    EXPECT_EQ(mapped.mmap_areas[0].offset, reg::kDoorbells);
    EXPECT_EQ(mapped.mmap_areas[0].size, 4096u);
    EXPECT_GE(mapped.fd, 0);
    TearDown();
    io.clear();
    make(ControllerOptions{.doorbell_mode = DoorbellMode::trapped});
    const pci::RegionInfo trapped = controller->region_info(pci::kBar0);
    EXPECT_TRUE(trapped.mmap_areas.empty());
    EXPECT_LT(trapped.fd, 0);
}

TEST_F(ControllerStateTest, EnableSetsReadyAndDisableClearsIt) {
    start();
    EXPECT_EQ(driver->read32(reg::kCsts), csts::kReady);
    ASSERT_TRUE(driver->create_io_queues(1, 16, 1));
    EXPECT_EQ(controller->state().io_submission_queues, 1u);
    EXPECT_TRUE(driver->disable());
    EXPECT_EQ(controller->state().io_submission_queues, 0u);
    EXPECT_EQ(controller->state().io_completion_queues, 0u);
    EXPECT_FALSE(controller->state().ready);
    // And again, from scratch.
    EXPECT_TRUE(driver->enable());
    ASSERT_TRUE(driver->create_io_queues(1, 16, 1));
}

TEST_F(ControllerStateTest, InvalidEnablesSetFatalStatusUntilReset) {
    make();
    const auto try_enable = [&](uint32_t cc_value, uint32_t aqa_value, uint64_t asq) {
        driver->write32(reg::kAqa, aqa_value);
        driver->write64(reg::kAsq, asq);
        driver->write64(reg::kAcq, ram.alloc(4096));
        driver->write32(reg::kCc, cc_value);
        driver->wait_for([&] { return driver->read32(reg::kCsts) != 0; });
        const uint32_t status = driver->read32(reg::kCsts);
        driver->write32(reg::kCc, 0);
        driver->wait_for([&] { return driver->read32(reg::kCsts) == 0; });
        return status;
    };
    const uint32_t good_aqa = 15 | (15u << 16);
    const uint64_t asq = ram.alloc(4096);
    EXPECT_EQ(try_enable(cc::kEnable | (1u << cc::kCssShift), good_aqa, asq), csts::kFatal);
    EXPECT_EQ(try_enable(cc::kEnable | (1u << cc::kMpsShift), good_aqa, asq), csts::kFatal);
    EXPECT_EQ(try_enable(cc::kEnable | (1u << cc::kAmsShift), good_aqa, asq), csts::kFatal);
    EXPECT_EQ(try_enable(cc::kEnable, 0, asq), csts::kFatal);                // 1-entry queues
    EXPECT_EQ(try_enable(cc::kEnable, good_aqa, 0x10000000), csts::kFatal);  // not in memory
    EXPECT_EQ(try_enable(cc::kEnable, good_aqa, asq), csts::kReady);
}

TEST_F(ControllerStateTest, NormalShutdownReportsCompleteAfterQueuesDrain) {
    start();
    ASSERT_TRUE(driver->create_io_queues(1, 16, 1));
    driver->write32(reg::kCc, driver->read32(reg::kCc) | (cc::kShnNormal << cc::kShnShift));
    ASSERT_TRUE(driver->wait_for([&] {
        return (driver->read32(reg::kCsts) & csts::kShstMask) ==
               (csts::kShstComplete << csts::kShstShift);
    }));
    EXPECT_EQ(controller->state().io_submission_queues, 0u);
    // Commands are not taken any more; a reset brings the controller back.
    EXPECT_TRUE(driver->disable());
    EXPECT_EQ(driver->read32(reg::kCsts), 0u);
    EXPECT_TRUE(driver->enable());
}

TEST_F(ControllerStateTest, AbruptShutdownCompletesToo) {
    start();
    driver->write32(reg::kCc, driver->read32(reg::kCc) | (cc::kShnAbrupt << cc::kShnShift));
    EXPECT_TRUE(driver->wait_for([&] {
        return (driver->read32(reg::kCsts) & csts::kShstMask) ==
               (csts::kShstComplete << csts::kShstShift);
    }));
}

TEST_F(ControllerStateTest, DeviceResetReturnsToPowerOn) {
    start();
    ASSERT_TRUE(driver->create_io_queues(1, 16, 1));
    bool done = false;
    controller->reset([&] { done = true; });
    ASSERT_TRUE(driver->wait_for([&] { return done; }));
    EXPECT_EQ(driver->read32(reg::kCc), 0u);
    EXPECT_EQ(driver->read32(reg::kCsts), 0u);
    EXPECT_EQ(driver->read32(reg::kAqa), 0u);
    EXPECT_EQ(driver->read64(reg::kAsq), 0u);
    EXPECT_EQ(controller->state().io_submission_queues, 0u);
    EXPECT_TRUE(driver->enable());
}

TEST_F(ControllerStateTest, RegisterAccessRules) {
    make();
    const uint32_t value = 0x12345678;
    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(&value), 4);
    EXPECT_FALSE(controller->write(pci::kBar0, reg::kCc + 1, bytes.first(2)).has_value());
    EXPECT_FALSE(controller->write(pci::kBar0, reg::kAqa + 2, bytes).has_value());
    EXPECT_FALSE(controller->write(pci::kBar0, reg::kCc, bytes.first(1)).has_value());
    // Read-only registers ignore writes; reserved low bits of the queue bases stay clear.
    driver->write64(reg::kCap, 0);
    EXPECT_NE(driver->read64(reg::kCap), 0u);
    driver->write32(reg::kAsq, 0x12345fff);
    driver->write32(reg::kAsq + 4, 0x1);
    EXPECT_EQ(driver->read64(reg::kAsq), 0x112345000ull);
    driver->write32(reg::kAqa, 0xffffffff);
    EXPECT_EQ(driver->read32(reg::kAqa), 0x0fff0fffu);
    // Byte reads of any register work; reads past the registers are zero.
    std::vector<uint8_t> byte(1);
    ASSERT_TRUE(controller->read(pci::kBar0, reg::kVs + 2, byte).has_value());
    EXPECT_EQ(byte[0], 1);
    EXPECT_EQ(driver->read32(0x2000), 0u);
    EXPECT_EQ(driver->read32(reg::kDoorbells), 0u);  // doorbells are write-only
}

TEST_F(ControllerStateTest, InterruptMaskSetAndClear) {
    make();
    driver->write32(reg::kIntms, 0x5);
    EXPECT_EQ(driver->read32(reg::kIntms), 0x5u);
    EXPECT_EQ(driver->read32(reg::kIntmc), 0x5u);
    driver->write32(reg::kIntmc, 0x4);
    EXPECT_EQ(driver->read32(reg::kIntms), 0x1u);
}

TEST_F(ControllerStateTest, GuestMemoryChangeRemapsRunningQueues) {
    start();
    ASSERT_TRUE(driver->create_io_queues(1, 16, 1));
    const uint64_t buffer = ram.alloc(4096);
    std::memset(ram.host(buffer), 0x3c, 4096);
    auto w = driver->run(driver->queue(1), FakeNvmeDriver::read_write(true, 1, 8, 8, buffer));
    ASSERT_EQ(status_of(w), 0u);
    // The same memory again as a new snapshot: the queues drain, move, and carry on.
    bool applied = false;
    auto same = guest_memory::GuestMemory::create(
                    {guest_memory::MappedRegion::borrow(
                        ram.host(testing::GuestRam::kBase),
                        {testing::GuestRam::kBase, ram.size(), testing::GuestRam::kBase, 0})})
                    .value();
    controller->set_memory(same, [&] { applied = true; });
    ASSERT_TRUE(driver->wait_for([&] { return applied; }));
    const uint64_t back = ram.alloc(4096);
    auto r = driver->run(driver->queue(1), FakeNvmeDriver::read_write(false, 1, 8, 8, back));
    ASSERT_EQ(status_of(r), 0u);
    EXPECT_EQ(ram.host(back)[4095], 0x3c);
    // Memory without the queues in it: the controller cannot go on.
    applied = false;
    controller->set_memory(guest_memory::GuestMemory::empty(), [&] { applied = true; });
    ASSERT_TRUE(driver->wait_for([&] { return applied; }));
    EXPECT_TRUE(driver->wait_for([&] { return (driver->read32(reg::kCsts) & csts::kFatal) != 0; }));
}

}  // namespace
}  // namespace vhostd::nvme

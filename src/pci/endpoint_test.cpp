// Endpoint: the capability layout a driver finds (PM, MSI-X, PCI Express), MSI-X BAR sizes and
// locations, MSI-X enable and function mask through config writes, table entries and their mask
// bits, the PBA showing pending vectors, INTx disable through the command register, and reset.
#include "pci/endpoint.hpp"

#include <map>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "base/event_fd.hpp"

namespace vhostd::pci {
namespace {

using namespace pci_spec;

EndpointLayout layout() {
    EndpointLayout l;
    l.identity = Identity{.vendor_id = 0x4e58, .device_id = 1, .class_code = kClassNvmExpress};
    l.bars[0] = BarSpec{.size = 0x4000, .is_64bit = true};
    l.msix_vectors = 17;
    return l;
}

class EndpointTest : public ::testing::Test {
  protected:
    std::unique_ptr<Endpoint> ep = Endpoint::create(layout(), nullptr).value();

    uint32_t cfg32(uint32_t offset) {
        uint32_t v = 0;
        EXPECT_TRUE(ep->read(kConfig, offset, {reinterpret_cast<uint8_t*>(&v), 4}).has_value());
        return v;
    }
    void cfg_write16(uint32_t offset, uint16_t v) {
        EXPECT_TRUE(ep->write(kConfig, offset, {reinterpret_cast<uint8_t*>(&v), 2}).has_value());
    }
    std::map<uint8_t, uint32_t> capabilities() {
        std::map<uint8_t, uint32_t> caps;
        uint32_t at = cfg32(reg::kCapabilities) & 0xff;
        for (int guard = 0; at != 0 && guard < 48; ++guard) {
            const uint32_t header = cfg32(at);
            caps[static_cast<uint8_t>(header)] = at;
            at = (header >> 8) & 0xff;
        }
        return caps;
    }
    uint32_t msix_cap() { return capabilities().at(cap_id::kMsix); }
};

TEST_F(EndpointTest, CapabilitiesAndBarsAreWhatDriversExpect) {
    auto caps = capabilities();
    ASSERT_EQ(caps.size(), 3u);
    ASSERT_TRUE(caps.contains(cap_id::kPowerManagement));
    ASSERT_TRUE(caps.contains(cap_id::kExpress));
    const uint32_t px = caps[cap_id::kExpress];
    EXPECT_EQ((cfg32(px) >> 16) & 0xf, express::kVersion2);
    EXPECT_EQ((cfg32(px) >> 20) & 0xf, 0u);  // endpoint
    const uint32_t msix = caps[cap_id::kMsix];
    EXPECT_EQ((cfg32(msix) >> 16) & msix::kTableSizeMask, 16u);  // N - 1
    EXPECT_EQ(cfg32(msix + msix::kTable), 4u);                   // BIR 4, offset 0
    EXPECT_EQ(cfg32(msix + msix::kPba), 5u);                     // BIR 5, offset 0
    EXPECT_EQ(cfg32(reg::kRevisionId) >> 8, kClassNvmExpress);
    EXPECT_EQ(ep->bar_size(0), 0x4000u);
    EXPECT_EQ(ep->region_info(4).size, 0x1000u);  // 17 entries in one page
    EXPECT_EQ(ep->region_info(5).size, 0x1000u);
    EXPECT_TRUE(ep->serves(kConfig));
    EXPECT_TRUE(ep->serves(4));
    EXPECT_FALSE(ep->serves(0));
    EXPECT_EQ(ep->region_info(kConfig).size, ConfigSpace::kSize);
}

TEST_F(EndpointTest, TableEntriesStoreMessagesAndOnlyTheMaskBit) {
    const std::vector<uint8_t> entry = {0x00, 0x10, 0xe0, 0xfe, 0,    0,    0,    0,
                                        0x41, 0,    0,    0,    0xff, 0xff, 0xff, 0xff};
    ASSERT_TRUE(ep->write(4, 16, entry).has_value());
    std::vector<uint8_t> back(16);
    ASSERT_TRUE(ep->read(4, 16, back).has_value());
    EXPECT_EQ(std::vector<uint8_t>(back.begin(), back.begin() + 12),
              std::vector<uint8_t>(entry.begin(), entry.begin() + 12));
    EXPECT_EQ(back[12], 1);  // mask bit only; reserved bits stay zero
    EXPECT_EQ(back[13], 0);
    // Power-on: every entry masked. Past the table: zeroes.
    ASSERT_TRUE(ep->read(4, 0, back).has_value());
    EXPECT_EQ(back[12], 1);
    ASSERT_TRUE(ep->read(4, 17 * 16, back).has_value());
    EXPECT_EQ(back, std::vector<uint8_t>(16, 0));
}

TEST_F(EndpointTest, ConfigWritesEnableMsixAndPbaShowsPending) {
    UniqueFd fd = make_event_fd().value();
    IrqSet set{.index = kMsix, .start = 16, .count = 1, .data = IrqData::eventfd};
    set.fds.push_back(UniqueFd(::dup(fd.get())));
    ASSERT_TRUE(ep->interrupts().set_irqs(std::move(set)).has_value());
    cfg_write16(msix_cap() + msix::kControl, msix::kEnable | msix::kFunctionMask);
    EXPECT_TRUE(ep->interrupts().msix_enabled());
    ep->interrupts().signal(16);
    std::vector<uint8_t> pba(8);
    ASSERT_TRUE(ep->read(5, 0, pba).has_value());
    EXPECT_EQ(pba[2], 0x01);  // vector 16
    // Unmask the entry, then clear the function mask: the pending message goes out.
    const std::vector<uint8_t> unmask = {0, 0, 0, 0};
    ASSERT_TRUE(ep->write(4, 16 * 16 + 12, unmask).has_value());
    ASSERT_TRUE(ep->read(5, 0, pba).has_value());
    EXPECT_EQ(pba[2], 0x01);
    cfg_write16(msix_cap() + msix::kControl, msix::kEnable);
    ASSERT_TRUE(ep->read(5, 0, pba).has_value());
    EXPECT_EQ(pba[2], 0x00);
    uint64_t count = 0;
    EXPECT_EQ(::read(fd.get(), &count, 8), 8);
    EXPECT_EQ(count, 1u);
    // The PBA is read-only.
    ASSERT_TRUE(ep->write(5, 0, std::vector<uint8_t>(8, 0xff)).has_value());
    ASSERT_TRUE(ep->read(5, 0, pba).has_value());
    EXPECT_EQ(pba, std::vector<uint8_t>(8, 0));
}

TEST_F(EndpointTest, SharedBarPutsThePbaAfterTheTable) {
    EndpointLayout l = layout();
    l.msix_vectors = 300;  // 4800-byte table
    l.msix_pba_bar = 4;
    auto shared = Endpoint::create(l, nullptr).value();
    EXPECT_EQ(shared->region_info(4).size, 0x4000u);  // 2 pages of table + 1 of PBA, rounded
    uint32_t pba_reg = 0;
    uint32_t at = 0;
    std::vector<uint8_t> header(4);
    shared->read(kConfig, reg::kCapabilities, std::span(header).first(1)).value();
    at = header[0];
    while (at != 0) {
        shared->read(kConfig, at, header).value();
        if (header[0] == cap_id::kMsix) {
            shared->read(kConfig, at + msix::kPba, {reinterpret_cast<uint8_t*>(&pba_reg), 4})
                .value();
        }
        at = header[1];
    }
    EXPECT_EQ(pba_reg, 0x2000u | 4u);
}

TEST_F(EndpointTest, RefusesLayoutsThatCollide) {
    EndpointLayout l = layout();
    l.bars[4] = BarSpec{.size = 0x1000};
    EXPECT_FALSE(Endpoint::create(l, nullptr).has_value());
    l = layout();
    l.msix_vectors = 0;
    EXPECT_FALSE(Endpoint::create(l, nullptr).has_value());
    l = layout();
    l.bars[3] = BarSpec{.size = 0x1000, .is_64bit = true};
    EXPECT_FALSE(Endpoint::create(l, nullptr).has_value());
}

TEST_F(EndpointTest, CommandRegisterDisablesIntxAndResetRestores) {
    UniqueFd fd = make_event_fd().value();
    IrqSet set{.index = kIntx, .start = 0, .count = 1, .data = IrqData::eventfd};
    set.fds.push_back(UniqueFd(::dup(fd.get())));
    ASSERT_TRUE(ep->interrupts().set_irqs(std::move(set)).has_value());
    cfg_write16(reg::kCommand, command::kBusMaster | command::kInterruptDisable);
    EXPECT_TRUE(ep->bus_master());
    ep->interrupts().signal(0);
    uint64_t count = 0;
    ::fcntl(fd.get(), F_SETFL, O_NONBLOCK);
    EXPECT_EQ(::read(fd.get(), &count, 8), -1);
    cfg_write16(reg::kCommand, command::kBusMaster);
    EXPECT_EQ(::read(fd.get(), &count, 8), 8);  // the pending INTx is delivered
    ep->reset();
    EXPECT_FALSE(ep->bus_master());
    EXPECT_EQ(cfg32(reg::kCommand) & 0xffff, 0u);
}

}  // namespace
}  // namespace vhostd::pci

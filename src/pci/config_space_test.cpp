// ConfigSpace: the header's identity, BAR sizing with the all-ones probe (32- and 64-bit),
// read-only, writable and write-1-to-clear bits, the capability list, and reset.
#include "pci/config_space.hpp"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

namespace vhostd::pci {
namespace {

using namespace pci_spec;

uint32_t read32(const ConfigSpace& config, uint32_t offset) {
    uint32_t value = 0;
    config.read(offset, {reinterpret_cast<uint8_t*>(&value), 4});
    return value;
}

void write32(ConfigSpace& config, uint32_t offset, uint32_t value) {
    ASSERT_TRUE(config.write(offset, {reinterpret_cast<const uint8_t*>(&value), 4}).has_value());
}

void write16(ConfigSpace& config, uint32_t offset, uint16_t value) {
    ASSERT_TRUE(config.write(offset, {reinterpret_cast<const uint8_t*>(&value), 2}).has_value());
}

ConfigSpace make() {
    return ConfigSpace(Identity{.vendor_id = 0x4e58,
                                .device_id = 0x0001,
                                .subsystem_vendor_id = 0x4e58,
                                .subsystem_id = 0x0002,
                                .revision = 3,
                                .class_code = kClassNvmExpress});
}

TEST(ConfigSpace, HeaderIdentityIsReadOnly) {
    ConfigSpace config = make();
    EXPECT_EQ(read32(config, reg::kVendorId), 0x00014e58u);
    EXPECT_EQ(read32(config, reg::kRevisionId), 0x01080203u);  // class 010802h, revision 3
    EXPECT_EQ(config.u8(reg::kInterruptPin), 1);
    write32(config, reg::kVendorId, 0xffffffff);
    write32(config, reg::kRevisionId, 0);
    EXPECT_EQ(read32(config, reg::kVendorId), 0x00014e58u);
    EXPECT_EQ(read32(config, reg::kRevisionId), 0x01080203u);
}

TEST(ConfigSpace, CommandBitsAndStatusWriteOneToClear) {
    ConfigSpace config = make();
    write16(config, reg::kCommand, 0xffff);
    EXPECT_EQ(config.u16(reg::kCommand), command::kMemorySpace | command::kBusMaster |
                                             command::kParityErrorResponse | command::kSerrEnable |
                                             command::kInterruptDisable);
    config.store_u16(reg::kStatus, 0x8000 | 0x0100);  // device-set error bits
    write16(config, reg::kStatus, 0x8000);
    EXPECT_EQ(config.u16(reg::kStatus), 0x0100);
    write16(config, reg::kStatus, 0x0100);
    EXPECT_EQ(config.u16(reg::kStatus), 0);
}

TEST(ConfigSpace, ThirtyTwoBitBarSizingProbe) {
    ConfigSpace config = make();
    ASSERT_TRUE(config.set_bar(4, BarSpec{.size = 0x1000}).has_value());
    write32(config, reg::kBar0 + 16, 0xffffffff);
    EXPECT_EQ(read32(config, reg::kBar0 + 16), 0xfffff000u);  // size 4 KiB, 32-bit memory
    write32(config, reg::kBar0 + 16, 0xfebc1234);
    EXPECT_EQ(read32(config, reg::kBar0 + 16), 0xfebc1000u);  // low bits are not address
    // An unimplemented BAR reads zero whatever is written.
    write32(config, reg::kBar0 + 8, 0xffffffff);
    EXPECT_EQ(read32(config, reg::kBar0 + 8), 0u);
}

TEST(ConfigSpace, SixtyFourBitBarSizingProbe) {
    ConfigSpace config = make();
    ASSERT_TRUE(config.set_bar(0, BarSpec{.size = 0x4000, .is_64bit = true}).has_value());
    EXPECT_EQ(read32(config, reg::kBar0), bar::kMemType64);
    write32(config, reg::kBar0, 0xffffffff);
    write32(config, reg::kBar0 + 4, 0xffffffff);
    EXPECT_EQ(read32(config, reg::kBar0), 0xffffc000u | bar::kMemType64);
    EXPECT_EQ(read32(config, reg::kBar0 + 4), 0xffffffffu);  // below 4 GiB: all upper bits
    write32(config, reg::kBar0, 0xfe000000);
    write32(config, reg::kBar0 + 4, 0x1);
    EXPECT_EQ(read32(config, reg::kBar0), 0xfe000000u | bar::kMemType64);
    EXPECT_EQ(read32(config, reg::kBar0 + 4), 0x1u);
}

TEST(ConfigSpace, RefusesBadBars) {
    ConfigSpace config = make();
    EXPECT_FALSE(config.set_bar(5, BarSpec{.size = 0x1000, .is_64bit = true}).has_value());
    EXPECT_FALSE(config.set_bar(0, BarSpec{.size = 0x1800}).has_value());
    EXPECT_FALSE(config.set_bar(0, BarSpec{.size = 8}).has_value());
    EXPECT_FALSE(config.set_bar(6, BarSpec{.size = 0x1000}).has_value());
}

TEST(ConfigSpace, CapabilityListIsWalkable) {
    ConfigSpace config = make();
    const uint32_t first = config.add_capability(cap_id::kPowerManagement, pm::kSize).value();
    const uint32_t second = config.add_capability(cap_id::kMsix, msix::kSize).value();
    const uint32_t third = config.add_capability(cap_id::kExpress, express::kSize).value();
    EXPECT_NE(config.u16(reg::kStatus) & status::kCapabilitiesList, 0);
    std::vector<uint8_t> ids;
    uint32_t at = config.u8(reg::kCapabilities);
    for (int guard = 0; at != 0 && guard < 48; ++guard) {
        EXPECT_EQ(at % 4, 0u);
        EXPECT_GE(at, reg::kHeaderEnd);
        ids.push_back(config.u8(at));
        at = config.u8(at + kCapNext);
    }
    EXPECT_EQ(ids,
              (std::vector<uint8_t>{cap_id::kPowerManagement, cap_id::kMsix, cap_id::kExpress}));
    EXPECT_LT(first, second);
    EXPECT_LT(second, third);
    EXPECT_LE(third + express::kSize, kConfigSize);
    // No room for a capability that would leave the conventional space.
    EXPECT_FALSE(config.add_capability(0x09, 200).has_value());
}

TEST(ConfigSpace, ResetRestoresPowerOnValues) {
    ConfigSpace config = make();
    ASSERT_TRUE(config.set_bar(0, BarSpec{.size = 0x4000, .is_64bit = true}).has_value());
    write16(config, reg::kCommand, command::kMemorySpace | command::kBusMaster);
    write32(config, reg::kBar0, 0xfe000000);
    config.write(reg::kInterruptLine, std::vector<uint8_t>{11}).value();
    config.reset();
    EXPECT_EQ(config.u16(reg::kCommand), 0);
    EXPECT_EQ(read32(config, reg::kBar0), bar::kMemType64);
    EXPECT_EQ(config.u8(reg::kInterruptLine), 0);
}

TEST(ConfigSpace, AccessesOutsideTheSpaceFail) {
    ConfigSpace config = make();
    std::vector<uint8_t> data(8, 0xff);
    EXPECT_FALSE(config.write(ConfigSpace::kSize - 4, data).has_value());
    EXPECT_FALSE(config.write(ConfigSpace::kSize, std::span(data).first(1)).has_value());
    // Extended space is readable and empty.
    EXPECT_EQ(read32(config, kExtendedCapabilitiesStart), 0u);
}

}  // namespace
}  // namespace vhostd::pci

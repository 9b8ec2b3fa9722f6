// Endpoint: capability layout, MSI-X BAR placement, config writes that steer interrupts.
#include "pci/endpoint.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace vhostd::pci {

using namespace pci_spec;

namespace {

constexpr uint64_t kPage = 4096;

uint64_t round_up(uint64_t value, uint64_t to) {
    return (value + to - 1) / to * to;
}

// A BAR of at least one page holding `bytes` (QEMU maps BARs by pages).
uint64_t bar_size_for(uint64_t bytes) {
    return std::bit_ceil(std::max(round_up(bytes, kPage), kPage));
}

}  // namespace

Endpoint::Endpoint(const EndpointLayout& layout, Interrupts::Retire retire)
    : config_(layout.identity),
      interrupts_(layout.msix_vectors, std::move(retire)),
      table_(interrupts_),
      table_bar_(layout.msix_table_bar),
      pba_bar_(layout.msix_pba_bar) {}

Result<std::unique_ptr<Endpoint>> Endpoint::create(const EndpointLayout& layout,
                                                   Interrupts::Retire retire) {
    if (layout.msix_vectors == 0 || layout.msix_vectors > msix::kMaxVectors) {
        return make_error(EINVAL, "{} MSI-X vectors (1..{})", layout.msix_vectors,
                          msix::kMaxVectors);
    }
    if (layout.msix_table_bar >= kNumBars || layout.msix_pba_bar >= kNumBars) {
        return make_error(EINVAL, "MSI-X BARs {} and {} out of range", layout.msix_table_bar,
                          layout.msix_pba_bar);
    }
    std::unique_ptr<Endpoint> endpoint(new Endpoint(layout, std::move(retire)));
    VHOSTD_TRY(endpoint->build(layout));
    return endpoint;
}

Result<void> Endpoint::build(const EndpointLayout& layout) {
    for (unsigned i = 0; i < kNumBars; ++i) {
        if (layout.bars[i].size == 0) {
            continue;
        }
        if (i == table_bar_ || i == pba_bar_ ||
            (layout.bars[i].is_64bit && (i + 1 == table_bar_ || i + 1 == pba_bar_))) {
            return make_error(EINVAL, "BAR {} collides with the MSI-X BARs", i);
        }
        VHOSTD_TRY(config_.set_bar(i, layout.bars[i]));
    }
    const uint64_t table_bytes = table_.table_bytes();
    if (table_bar_ == pba_bar_) {
        pba_offset_ = round_up(table_bytes, kPage);
        VHOSTD_TRY(config_.set_bar(
            table_bar_, BarSpec{.size = bar_size_for(pba_offset_ + table_.pba_bytes())}));
    } else {
        VHOSTD_TRY(config_.set_bar(table_bar_, BarSpec{.size = bar_size_for(table_bytes)}));
        VHOSTD_TRY(config_.set_bar(pba_bar_, BarSpec{.size = bar_size_for(table_.pba_bytes())}));
    }

    // PCI PM 1.2: version 1.2, D0/D3hot, and no soft reset on D3hot->D0 (the function keeps
    // its state; a driver resets it through its own registers).
    const uint32_t pm_cap = VHOSTD_TRY(config_.add_capability(cap_id::kPowerManagement, pm::kSize));
    config_.set_u16(pm_cap + pm::kPmc, pm::kVersion12);
    config_.set_u16(pm_cap + pm::kPmcsr, pm::kNoSoftReset);
    config_.set_writable(pm_cap + pm::kPmcsr, pm::kPowerStateMask, 2);

    // PCI 3.0 6.8.2: table size N-1, table and PBA locations; enable and function mask are
    // the writable bits.
    msix_cap_ = VHOSTD_TRY(config_.add_capability(cap_id::kMsix, msix::kSize));
    config_.set_u16(msix_cap_ + msix::kControl,
                    static_cast<uint16_t>((layout.msix_vectors - 1) & msix::kTableSizeMask));
    config_.set_u32(msix_cap_ + msix::kTable, table_bar_);
    config_.set_u32(msix_cap_ + msix::kPba, static_cast<uint32_t>(pba_offset_) | pba_bar_);
    config_.set_writable(msix_cap_ + msix::kControl, msix::kEnable | msix::kFunctionMask, 2);

    // PCIe 4.0 7.5.3: a version 2 endpoint on a x1 2.5 GT/s link. FLR is not offered: a
    // client resets the function with DEVICE_RESET, a driver with the controller's registers.
    const uint32_t px = VHOSTD_TRY(config_.add_capability(cap_id::kExpress, express::kSize));
    config_.set_u16(px + express::kCapabilities, express::kVersion2 | express::kTypeEndpoint);
    config_.set_u32(px + express::kDeviceCap, express::kRoleBasedErrorReporting);
    config_.set_u16(px + express::kDeviceControl, express::kDeviceControlDefault);
    config_.set_writable(px + express::kDeviceControl, 0x7fff, 2);
    config_.set_write_one_to_clear(px + express::kDeviceStatus,
                                   express::kDeviceStatusWriteOneToClear, 2);
    config_.set_u32(px + express::kLinkCap, express::kLinkSpeed2_5 | express::kLinkWidthX1);
    config_.set_writable(px + express::kLinkControl, 0x00c3, 2);
    config_.set_u16(px + express::kLinkStatus,
                    static_cast<uint16_t>(express::kLinkSpeed2_5 | express::kLinkWidthX1));
    config_.set_u32(px + express::kDeviceCap2, express::kCompletionTimeoutDisable);
    config_.set_writable(px + express::kDeviceControl2, 0x001f, 2);
    config_.set_u32(px + express::kLinkCap2, express::kSupportedSpeeds2_5);
    config_.set_u16(px + express::kLinkControl2, static_cast<uint16_t>(express::kLinkSpeed2_5));
    config_.set_writable(px + express::kLinkControl2, 0x000f, 2);
    config_.set_u16(px + express::kLinkStatus2, 0);
    // Extended space (0x100) stays zero: a header of 0 ends the (empty) extended list.
    config_.reset();
    return {};
}

bool Endpoint::serves(uint32_t index) const {
    return index == kConfig || index == table_bar_ || index == pba_bar_;
}

RegionInfo Endpoint::region_info(uint32_t index) const {
    if (index == kConfig) {
        return RegionInfo{.size = ConfigSpace::kSize, .readable = true, .writable = true};
    }
    if (index == table_bar_ || index == pba_bar_) {
        return RegionInfo{.size = config_.bar_size(index), .readable = true, .writable = true};
    }
    return RegionInfo{};
}

Result<void> Endpoint::read(uint32_t index, uint64_t offset, std::span<uint8_t> out) {
    if (index == kConfig) {
        config_.read(offset, out);
        return {};
    }
    if (index == table_bar_ && (table_bar_ != pba_bar_ || offset < pba_offset_)) {
        table_.read_table(offset, out);
        return {};
    }
    if (index == pba_bar_) {
        table_.read_pba(offset - pba_offset_, out);
        return {};
    }
    return make_error(EINVAL, "region {} is not served by the PCI endpoint", index);
}

Result<void> Endpoint::write(uint32_t index, uint64_t offset, std::span<const uint8_t> data) {
    if (index == kConfig) {
        VHOSTD_TRY(config_.write(offset, data));
        sync_interrupt_state();
        return {};
    }
    if (index == table_bar_ && (table_bar_ != pba_bar_ || offset < pba_offset_)) {
        table_.write_table(offset, data);
        return {};
    }
    if (index == pba_bar_) {
        return {};  // 6.8.2.10: the PBA is read-only; writes are ignored
    }
    return make_error(EINVAL, "region {} is not served by the PCI endpoint", index);
}

void Endpoint::sync_interrupt_state() {
    const uint16_t control = config_.u16(msix_cap_ + msix::kControl);
    const bool enabled = (control & msix::kEnable) != 0;
    const bool masked = (control & msix::kFunctionMask) != 0;
    interrupts_.set_msix_control(enabled, masked);
    interrupts_.set_intx_disabled((config_.u16(reg::kCommand) & command::kInterruptDisable) != 0);
}

bool Endpoint::bus_master() const {
    return (config_.u16(reg::kCommand) & command::kBusMaster) != 0;
}

void Endpoint::reset() {
    config_.reset();
    table_.reset();
    interrupts_.reset();
}

}  // namespace vhostd::pci

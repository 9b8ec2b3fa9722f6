// Endpoint: the PCI side every emulated PCI Express endpoint shares, so a device (the NVMe
// controller) only adds its own BARs: a configuration space with the power management, MSI-X
// and PCI Express capabilities a Linux or SPDK driver looks for, the MSI-X table and pending
// bit array in BARs, and the interrupts they control. It serves the config region and the
// MSI-X BARs of a pci::Function; the device serves the rest. Control reactor only (signalling
// through interrupts() is allowed from any thread).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "base/error.hpp"
#include "pci/config_space.hpp"
#include "pci/function.hpp"
#include "pci/interrupts.hpp"
#include "pci/msix_table.hpp"

namespace vhostd::pci {

struct EndpointLayout {
    Identity identity;
    // The device's own memory BARs (index 0..5); the MSI-X BARs are added from below.
    std::array<BarSpec, pci_spec::kNumBars> bars{};
    uint16_t msix_vectors = 1;  // 1..2048
    unsigned msix_table_bar = 4;
    unsigned msix_pba_bar = 5;  // may equal the table's BAR: the PBA then follows the table
};

class Endpoint {
  public:
    static Result<std::unique_ptr<Endpoint>> create(const EndpointLayout& layout,
                                                    Interrupts::Retire retire);

    // Whether region `index` is served here (config space and the MSI-X BARs).
    [[nodiscard]] bool serves(uint32_t index) const;
    [[nodiscard]] RegionInfo region_info(uint32_t index) const;
    // Accesses to a served region, inside it (the transport checked the range).
    Result<void> read(uint32_t index, uint64_t offset, std::span<uint8_t> out);
    Result<void> write(uint32_t index, uint64_t offset, std::span<const uint8_t> data);

    [[nodiscard]] Interrupts& interrupts() { return interrupts_; }
    [[nodiscard]] const ConfigSpace& config() const { return config_; }
    [[nodiscard]] uint64_t bar_size(unsigned index) const { return config_.bar_size(index); }
    // Bus mastering (DMA) allowed by the command register.
    [[nodiscard]] bool bus_master() const;

    // Power-on state: config space, table, interrupt eventfds released.
    void reset();

  private:
    Endpoint(const EndpointLayout& layout, Interrupts::Retire retire);
    Result<void> build(const EndpointLayout& layout);
    // Applies config-space state that drives interrupt delivery (MSI-X control, INTx disable).
    void sync_interrupt_state();

    ConfigSpace config_;
    Interrupts interrupts_;
    MsixTable table_;
    unsigned table_bar_;
    unsigned pba_bar_;
    uint64_t pba_offset_ = 0;  // inside pba_bar_
    uint32_t msix_cap_ = 0;
};

}  // namespace vhostd::pci

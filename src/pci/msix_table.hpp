// MsixTable: the MSI-X table and pending bit array as the driver reads and writes them through
// a BAR (PCI 3.0 6.8.2.6-6.8.2.10). Entries keep the message address and data the driver
// programs (delivery itself goes through the client's eventfds, so they are only stored);
// a vector control's mask bit goes to Interrupts, and the PBA shows Interrupts' pending bits.
// Control reactor only.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "pci/interrupts.hpp"

namespace vhostd::pci {

class MsixTable {
  public:
    explicit MsixTable(Interrupts& interrupts);

    [[nodiscard]] uint64_t table_bytes() const { return table_.size(); }
    // One bit per vector in qwords (6.8.2.10).
    [[nodiscard]] uint64_t pba_bytes() const;

    // Accesses at an offset from the table's or the PBA's start; bytes past the structure
    // (the rest of its BAR) read as zero and ignore writes.
    void read_table(uint64_t offset, std::span<uint8_t> out) const;
    void write_table(uint64_t offset, std::span<const uint8_t> data);
    void read_pba(uint64_t offset, std::span<uint8_t> out) const;

    // Power-on state: zero messages, every vector masked.
    void reset();

  private:
    Interrupts& interrupts_;
    std::vector<uint8_t> table_;
};

}  // namespace vhostd::pci

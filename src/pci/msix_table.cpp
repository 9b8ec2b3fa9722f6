// MsixTable: table entries and the pending bit array.
#include "pci/msix_table.hpp"

#include <algorithm>
#include <cstdint>

#include "spec/pci.hpp"

namespace vhostd::pci {

using namespace pci_spec::msix;

MsixTable::MsixTable(Interrupts& interrupts)
    : interrupts_(interrupts), table_(size_t{interrupts.msix_vectors()} * kEntrySize) {
    reset();
}

uint64_t MsixTable::pba_bytes() const {
    return (uint64_t{interrupts_.msix_vectors()} + 63) / 64 * 8;
}

void MsixTable::reset() {
    std::fill(table_.begin(), table_.end(), 0);
    for (size_t entry = 0; entry < interrupts_.msix_vectors(); ++entry) {
        table_[entry * kEntrySize + kEntryVectorControl] = kVectorMasked;
    }
}

void MsixTable::read_table(uint64_t offset, std::span<uint8_t> out) const {
    for (size_t i = 0; i < out.size(); ++i) {
        const uint64_t at = offset + i;
        out[i] = at < table_.size() ? table_[at] : 0;
    }
}

void MsixTable::write_table(uint64_t offset, std::span<const uint8_t> data) {
    size_t first_entry = SIZE_MAX;
    size_t last_entry = 0;
    for (size_t i = 0; i < data.size(); ++i) {
        const uint64_t at = offset + i;
        if (at >= table_.size()) {
            break;
        }
        const size_t field = at % kEntrySize;
        if (field >= kEntryVectorControl) {
            // 6.8.2.9: only the mask bit of vector control is writable; the rest is reserved.
            if (field == kEntryVectorControl) {
                table_[at] = data[i] & kVectorMasked;
            }
        } else {
            table_[at] = data[i];
        }
        first_entry = std::min<size_t>(first_entry, at / kEntrySize);
        last_entry = std::max<size_t>(last_entry, at / kEntrySize);
    }
    if (first_entry == SIZE_MAX) {
        return;  // past the table
    }
    for (size_t entry = first_entry; entry <= last_entry; ++entry) {
        const bool masked = (table_[entry * kEntrySize + kEntryVectorControl] & kVectorMasked) != 0;
        interrupts_.set_table_mask(static_cast<uint16_t>(entry), masked);
    }
}

void MsixTable::read_pba(uint64_t offset, std::span<uint8_t> out) const {
    for (size_t i = 0; i < out.size(); ++i) {
        const uint64_t byte = offset + i;
        uint8_t value = 0;
        for (unsigned bit = 0; bit < 8; ++bit) {
            const uint64_t vector = byte * 8 + bit;
            if (vector < interrupts_.msix_vectors() &&
                interrupts_.pending(static_cast<uint16_t>(vector))) {
                value |= static_cast<uint8_t>(1u << bit);
            }
        }
        out[i] = value;
    }
}

}  // namespace vhostd::pci

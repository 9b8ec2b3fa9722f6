// ConfigSpace: an emulated function's PCI Express configuration space: the type-0 header, a
// capability list built at construction, and per-byte write masks (read-only, writable,
// write-1-to-clear) that give every register its access rules. BARs need no code of their
// own: an address register's writable bits are exactly the address bits above the BAR's
// size, so the all-ones sizing probe reads back the size and the flag bits stay as declared.
// Control reactor only.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "base/error.hpp"
#include "spec/pci.hpp"

namespace vhostd::pci {

struct Identity {
    uint16_t vendor_id = 0;
    uint16_t device_id = 0;
    uint16_t subsystem_vendor_id = 0;
    uint16_t subsystem_id = 0;
    uint8_t revision = 0;
    uint32_t class_code = 0;    // 24 bits
    bool interrupt_pin = true;  // INTA#
};

struct BarSpec {
    uint64_t size = 0;      // a power of two, at least 16 bytes; 0: no BAR
    bool is_64bit = false;  // takes the next BAR register as its upper half
    bool prefetchable = false;
};

class ConfigSpace {
  public:
    static constexpr size_t kSize = pci_spec::kExpressConfigSize;

    explicit ConfigSpace(const Identity& identity);

    // Declares memory BAR `index` (before any access). A 64-bit BAR uses index and index + 1.
    Result<void> set_bar(unsigned index, const BarSpec& bar);
    [[nodiscard]] uint64_t bar_size(unsigned index) const { return bar_sizes_[index]; }

    // Appends a capability of `size` bytes (header included) to the list and returns its
    // offset; its body starts zeroed and read-only. ENOSPC past the conventional 256 bytes.
    Result<uint32_t> add_capability(uint8_t id, uint32_t size);

    // Sets the initial (power-on) value of bytes at `offset` and their access rules.
    void set_u8(uint32_t offset, uint8_t value) { init_[offset] = value; }
    void set_u16(uint32_t offset, uint16_t value);
    void set_u32(uint32_t offset, uint32_t value);
    void set_writable(uint32_t offset, uint32_t mask, size_t bytes);
    void set_write_one_to_clear(uint32_t offset, uint32_t mask, size_t bytes);

    // Back to the power-on image (DEVICE_RESET, the client went away).
    void reset();

    // Accesses inside [0, kSize); the transport has checked the range against region_info.
    void read(uint64_t offset, std::span<uint8_t> out) const;
    // Applies the write masks; returns EINVAL if the access leaves the space.
    Result<void> write(uint64_t offset, std::span<const uint8_t> data);

    [[nodiscard]] uint8_t u8(uint32_t offset) const { return live_[offset]; }
    [[nodiscard]] uint16_t u16(uint32_t offset) const;
    [[nodiscard]] uint32_t u32(uint32_t offset) const;
    // Stores into the live image without the masks (device-owned status bits).
    void store_u16(uint32_t offset, uint16_t value);

  private:
    std::array<uint8_t, kSize> init_{};  // power-on values
    std::array<uint8_t, kSize> live_{};  // current values
    std::array<uint8_t, kSize> write_mask_{};
    std::array<uint8_t, kSize> w1c_mask_{};
    std::array<uint64_t, pci_spec::kNumBars> bar_sizes_{};
    uint32_t last_capability_ = 0;  // offset of the last capability, 0 while none
    uint32_t next_free_ = pci_spec::reg::kHeaderEnd;
};

}  // namespace vhostd::pci

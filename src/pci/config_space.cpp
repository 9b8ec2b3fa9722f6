// ConfigSpace: header, capability list, masked writes.
#include "pci/config_space.hpp"

#include <bit>
#include <cstring>

namespace vhostd::pci {

using namespace pci_spec;

ConfigSpace::ConfigSpace(const Identity& identity) {
    set_u16(reg::kVendorId, identity.vendor_id);
    set_u16(reg::kDeviceId, identity.device_id);
    set_u8(reg::kRevisionId, identity.revision);
    set_u8(reg::kClassCode, static_cast<uint8_t>(identity.class_code));
    set_u8(reg::kClassCode + 1, static_cast<uint8_t>(identity.class_code >> 8));
    set_u8(reg::kClassCode + 2, static_cast<uint8_t>(identity.class_code >> 16));
    set_u16(reg::kSubsystemVendor, identity.subsystem_vendor_id);
    set_u16(reg::kSubsystemId, identity.subsystem_id);
    set_u8(reg::kInterruptPin, identity.interrupt_pin ? 1 : 0);
    // PCI 3.0 6.2.2: memory space, bus master, parity and SERR# responses, INTx disable. No
    // I/O space: the function has no I/O BARs.
    set_writable(reg::kCommand,
                 command::kMemorySpace | command::kBusMaster | command::kParityErrorResponse |
                     command::kSerrEnable | command::kInterruptDisable,
                 2);
    set_write_one_to_clear(reg::kStatus, status::kWriteOneToClear, 2);
    set_writable(reg::kCacheLineSize, 0xff, 1);
    set_writable(reg::kInterruptLine, 0xff, 1);
    reset();
}

void ConfigSpace::set_u16(uint32_t offset, uint16_t value) {
    std::memcpy(&init_[offset], &value, sizeof(value));
}

void ConfigSpace::set_u32(uint32_t offset, uint32_t value) {
    std::memcpy(&init_[offset], &value, sizeof(value));
}

void ConfigSpace::set_writable(uint32_t offset, uint32_t mask, size_t bytes) {
    for (size_t i = 0; i < bytes; ++i) {
        write_mask_[offset + i] = static_cast<uint8_t>(mask >> (8 * i));
    }
}

void ConfigSpace::set_write_one_to_clear(uint32_t offset, uint32_t mask, size_t bytes) {
    for (size_t i = 0; i < bytes; ++i) {
        w1c_mask_[offset + i] = static_cast<uint8_t>(mask >> (8 * i));
    }
}

Result<void> ConfigSpace::set_bar(unsigned index, const BarSpec& spec) {
    const unsigned slots = spec.is_64bit ? 2 : 1;
    if (index + slots > kNumBars) {
        return make_error(EINVAL, "BAR {} does not fit the header", index);
    }
    if (spec.size < 16 || !std::has_single_bit(spec.size) ||
        (!spec.is_64bit && spec.size > (uint64_t{1} << 31))) {
        return make_error(EINVAL, "BAR {} size {:#x} is not a valid memory BAR size", index,
                          spec.size);
    }
    bar_sizes_[index] = spec.size;
    const uint32_t offset = reg::kBar0 + 4 * index;
    uint32_t flags = spec.is_64bit ? bar::kMemType64 : 0;
    flags |= spec.prefetchable ? bar::kPrefetchable : 0;
    set_u32(offset, flags);
    // 6.2.5.1: the size is what the all-ones probe cannot set; flag bits are read-only.
    const uint64_t address_mask = ~(spec.size - 1);
    set_writable(offset, static_cast<uint32_t>(address_mask) & ~bar::kMemFlagsMask, 4);
    if (spec.is_64bit) {
        set_u32(offset + 4, 0);
        set_writable(offset + 4, static_cast<uint32_t>(address_mask >> 32), 4);
    }
    reset();
    return {};
}

Result<uint32_t> ConfigSpace::add_capability(uint8_t id, uint32_t size) {
    // Capabilities are dword aligned and live in the conventional 256 bytes.
    const uint32_t offset = (next_free_ + 3) & ~3u;
    if (size < 2 || offset + size > kConfigSize) {
        return make_error(ENOSPC, "no room for capability {:#x} of {} bytes", id, size);
    }
    set_u8(offset, id);
    set_u8(offset + kCapNext, 0);
    if (last_capability_ == 0) {
        set_u8(reg::kCapabilities, static_cast<uint8_t>(offset));
        init_[reg::kStatus] |= static_cast<uint8_t>(status::kCapabilitiesList);
    } else {
        set_u8(last_capability_ + kCapNext, static_cast<uint8_t>(offset));
    }
    last_capability_ = offset;
    next_free_ = offset + size;
    reset();
    return offset;
}

void ConfigSpace::reset() {
    live_ = init_;
}

void ConfigSpace::read(uint64_t offset, std::span<uint8_t> out) const {
    if (offset >= kSize || out.size() > kSize - offset) {
        std::memset(out.data(), 0xff, out.size());  // never reached through a checked transport
        return;
    }
    std::memcpy(out.data(), &live_[offset], out.size());
}

Result<void> ConfigSpace::write(uint64_t offset, std::span<const uint8_t> data) {
    if (offset >= kSize || data.size() > kSize - offset) {
        return make_error(EINVAL, "config write of {} bytes at {:#x} leaves the space", data.size(),
                          offset);
    }
    for (size_t i = 0; i < data.size(); ++i) {
        const size_t at = offset + i;
        const uint8_t value = data[i];
        uint8_t byte = live_[at];
        byte = static_cast<uint8_t>((byte & ~write_mask_[at]) | (value & write_mask_[at]));
        byte = static_cast<uint8_t>(byte & ~(value & w1c_mask_[at]));
        live_[at] = byte;
    }
    return {};
}

uint16_t ConfigSpace::u16(uint32_t offset) const {
    uint16_t value;
    std::memcpy(&value, &live_[offset], sizeof(value));
    return value;
}

uint32_t ConfigSpace::u32(uint32_t offset) const {
    uint32_t value;
    std::memcpy(&value, &live_[offset], sizeof(value));
    return value;
}

void ConfigSpace::store_u16(uint32_t offset, uint16_t value) {
    std::memcpy(&live_[offset], &value, sizeof(value));
}

}  // namespace vhostd::pci

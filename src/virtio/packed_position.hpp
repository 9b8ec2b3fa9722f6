// PackedPosition: a place in a packed descriptor ring (slot index and ring wrap counter, spec
// 2.8.1), and PackedBase, the ring state VHOST_USER_GET/SET_VRING_BASE carry for packed
// rings as QEMU encodes it: bits 0-14 the next avail slot, bit 15 the avail wrap counter,
// bits 16-30 the next used slot, bit 31 the used wrap counter.
#pragma once

#include <cstdint>

namespace vhostd::virtio {

struct PackedPosition {
    uint16_t index = 0;
    bool wrap = true;  // 2.8.1: both wrap counters start at 1

    // `slots` further on in a ring of `size` descriptors (slots <= size).
    [[nodiscard]] PackedPosition advanced(uint32_t slots, uint16_t size) const {
        uint32_t next = uint32_t{index} + slots;
        bool next_wrap = wrap;
        if (next >= size) {
            next -= size;
            next_wrap = !next_wrap;
        }
        return PackedPosition{static_cast<uint16_t>(next), next_wrap};
    }
    // 15-bit slot and wrap bit, as in event suppression off_wrap and the vring base halves.
    [[nodiscard]] uint16_t encode() const {
        return static_cast<uint16_t>((index & 0x7fff) | (wrap ? 0x8000 : 0));
    }
    [[nodiscard]] static PackedPosition decode(uint16_t v) {
        return PackedPosition{static_cast<uint16_t>(v & 0x7fff), (v & 0x8000) != 0};
    }
    friend bool operator==(const PackedPosition&, const PackedPosition&) = default;
};

struct PackedBase {
    PackedPosition avail;
    PackedPosition used;

    [[nodiscard]] uint32_t encode() const {
        return uint32_t{avail.encode()} | (uint32_t{used.encode()} << 16);
    }
    [[nodiscard]] static PackedBase decode(uint32_t v) {
        return PackedBase{PackedPosition::decode(static_cast<uint16_t>(v)),
                          PackedPosition::decode(static_cast<uint16_t>(v >> 16))};
    }
};

}  // namespace vhostd::virtio

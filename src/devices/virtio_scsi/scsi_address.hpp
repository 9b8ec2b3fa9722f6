// The 8-byte LUN field of virtio-scsi requests and events (VIRTIO 1.2, 5.6.6.1): byte 0 is 1,
// byte 1 the target, bytes 2-3 the LUN in SAM single-level format, bytes 4-7 zero.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace vhostd::virtio_scsi {

struct ScsiAddress {
    uint8_t target = 0;
    uint16_t lun = 0;  // 0..16383

    friend bool operator==(const ScsiAddress&, const ScsiAddress&) = default;
};

// nullopt if the field does not follow the format (the device answers BAD_TARGET).
std::optional<ScsiAddress> parse_lun_field(const uint8_t (&field)[8]);

// The field for `address`, as a driver writes it (flat addressing for LUNs above 255).
std::array<uint8_t, 8> make_lun_field(ScsiAddress address);

}  // namespace vhostd::virtio_scsi

// LUN field encoding and decoding (VIRTIO 1.2, 5.6.6.1; SAM-5 4.7 single-level LUNs).
#include "devices/virtio_scsi/scsi_address.hpp"

namespace vhostd::virtio_scsi {

std::optional<ScsiAddress> parse_lun_field(const uint8_t (&field)[8]) {
    // 5.6.6.1: "lun[0] is 1, lun[1] the target"; bytes 4-7 are the unused levels of a
    // single-level LUN and must be zero.
    if (field[0] != 1) {
        return std::nullopt;
    }
    for (int i = 4; i < 8; ++i) {
        if (field[i] != 0) {
            return std::nullopt;
        }
    }
    // SAM-5 4.7.7: address method 00b (peripheral, bus 0 only) or 01b (flat space).
    const uint8_t method = field[2] >> 6;
    if (method == 0 && (field[2] & 0x3f) != 0) {
        return std::nullopt;  // peripheral addressing through a bus other than 0
    }
    if (method > 1) {
        return std::nullopt;
    }
    return ScsiAddress{field[1], static_cast<uint16_t>(((field[2] & 0x3f) << 8) | field[3])};
}

std::array<uint8_t, 8> make_lun_field(ScsiAddress address) {
    std::array<uint8_t, 8> field{};
    field[0] = 1;
    field[1] = address.target;
    if (address.lun > 255) {
        field[2] = static_cast<uint8_t>(0x40 | ((address.lun >> 8) & 0x3f));
    }
    field[3] = static_cast<uint8_t>(address.lun & 0xff);
    return field;
}

}  // namespace vhostd::virtio_scsi

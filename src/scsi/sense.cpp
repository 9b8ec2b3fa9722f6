// Fixed-format sense data.
#include "scsi/sense.hpp"

#include <cstring>

#include "scsi/task.hpp"

namespace vhostd::scsi {

void build_fixed_sense(uint8_t* buf, SenseCode code) noexcept {
    std::memset(buf, 0, kFixedSenseLength);
    buf[0] = 0x70;  // SPC-4 4.5.3: current error, fixed format (VALID = 0: no INFORMATION)
    buf[2] = code.key & 0x0f;
    buf[7] = kFixedSenseLength - 8;  // additional sense length
    buf[12] = code.asc;
    buf[13] = code.ascq;
}

void set_check_condition(Task& task, SenseCode code) noexcept {
    task.status = status::check_condition;
    build_fixed_sense(task.sense.data(), code);
    task.sense_length = kFixedSenseLength;
}

void set_invalid_field(Task& task, bool in_cdb, uint16_t byte, int bit) noexcept {
    set_check_condition(
        task, in_cdb ? sense::invalid_field_in_cdb : sense::invalid_field_in_parameter_list);
    // SPC-4 4.5.2.4.2: SKSV, C/D, BPV and BIT POINTER, then the FIELD POINTER.
    uint8_t flags = 0x80 | (in_cdb ? 0x40 : 0x00);
    if (bit >= 0 && bit < 8) {
        flags |= 0x08 | static_cast<uint8_t>(bit);
    }
    task.sense[15] = flags;
    task.sense[16] = static_cast<uint8_t>(byte >> 8);
    task.sense[17] = static_cast<uint8_t>(byte);
}

void set_good(Task& task) noexcept {
    task.status = status::good;
    task.sense_length = 0;
}

SenseCode decode_sense(const uint8_t* buf, uint8_t length) noexcept {
    if (length < 1) {
        return sense::no_sense;
    }
    const uint8_t code = buf[0] & 0x7f;
    if ((code == 0x72 || code == 0x73) && length >= 4) {  // descriptor format
        return {static_cast<uint8_t>(buf[1] & 0x0f), buf[2], buf[3]};
    }
    if ((code == 0x70 || code == 0x71) && length >= 14) {
        return {static_cast<uint8_t>(buf[2] & 0x0f), buf[12], buf[13]};
    }
    return sense::no_sense;
}

}  // namespace vhostd::scsi

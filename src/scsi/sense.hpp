// Sense data (SPC-4 4.5.3, fixed format 70h): the sense key / ASC / ASCQ triples the core
// reports, and building them into a Task with CHECK CONDITION status.
#pragma once

#include <cstdint>

namespace vhostd::scsi {

struct Task;

// SPC-4 table 28: sense keys.
namespace sense_key {
inline constexpr uint8_t no_sense = 0x0;
inline constexpr uint8_t not_ready = 0x2;
inline constexpr uint8_t medium_error = 0x3;
inline constexpr uint8_t hardware_error = 0x4;
inline constexpr uint8_t illegal_request = 0x5;
inline constexpr uint8_t unit_attention = 0x6;
inline constexpr uint8_t data_protect = 0x7;
inline constexpr uint8_t aborted_command = 0xb;
}  // namespace sense_key

struct SenseCode {
    uint8_t key;
    uint8_t asc;
    uint8_t ascq;
    friend bool operator==(const SenseCode&, const SenseCode&) = default;
};

// SPC-4 annex F.2: the additional sense codes used here.
namespace sense {
inline constexpr SenseCode no_sense{sense_key::no_sense, 0x00, 0x00};
inline constexpr SenseCode becoming_ready{sense_key::not_ready, 0x04, 0x01};
inline constexpr SenseCode not_ready_manual_intervention{sense_key::not_ready, 0x04, 0x03};
inline constexpr SenseCode parameter_list_length_error{sense_key::illegal_request, 0x1a, 0x00};
inline constexpr SenseCode invalid_opcode{sense_key::illegal_request, 0x20, 0x00};
inline constexpr SenseCode lba_out_of_range{sense_key::illegal_request, 0x21, 0x00};
inline constexpr SenseCode invalid_field_in_cdb{sense_key::illegal_request, 0x24, 0x00};
inline constexpr SenseCode lun_not_supported{sense_key::illegal_request, 0x25, 0x00};
inline constexpr SenseCode invalid_field_in_parameter_list{sense_key::illegal_request, 0x26, 0x00};
inline constexpr SenseCode invalid_release_of_persistent_reservation{sense_key::illegal_request,
                                                                     0x26, 0x04};
inline constexpr SenseCode saving_parameters_not_supported{sense_key::illegal_request, 0x39, 0x00};
inline constexpr SenseCode insufficient_registration_resources{sense_key::illegal_request, 0x55,
                                                               0x04};
inline constexpr SenseCode write_protected{sense_key::data_protect, 0x27, 0x00};
inline constexpr SenseCode space_allocation_failed{sense_key::data_protect, 0x27, 0x07};
inline constexpr SenseCode unrecovered_read_error{sense_key::medium_error, 0x11, 0x00};
inline constexpr SenseCode write_error{sense_key::medium_error, 0x0c, 0x00};
inline constexpr SenseCode internal_target_failure{sense_key::hardware_error, 0x44, 0x00};
// The LUN went away (hot-unplug) under a command: the initiator retries and then sees the
// LUN gone. SPC-4: ABORTED COMMAND, 08h/00h LOGICAL UNIT COMMUNICATION FAILURE.
inline constexpr SenseCode lun_communication_failure{sense_key::aborted_command, 0x08, 0x00};
}  // namespace sense

inline constexpr uint8_t kFixedSenseLength = 18;

// Writes fixed-format sense data for `code` into buf[0..18).
void build_fixed_sense(uint8_t* buf, SenseCode code) noexcept;

// Completes `task` (result fields only) with CHECK CONDITION and `code`.
void set_check_condition(Task& task, SenseCode code) noexcept;
// Same, with a sense-key specific field pointer (SPC-4 4.5.2.4.2) to the offending byte (and
// bit, 0-7) of the CDB or, with in_cdb false, of the parameter list.
void set_invalid_field(Task& task, bool in_cdb, uint16_t byte, int bit = -1) noexcept;
// Completes `task` with GOOD status and no sense.
void set_good(Task& task) noexcept;

// Decodes fixed or descriptor format sense from a Task (tests, logging).
[[nodiscard]] SenseCode decode_sense(const uint8_t* buf, uint8_t length) noexcept;

}  // namespace vhostd::scsi

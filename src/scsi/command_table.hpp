// The table of implemented commands: for each operation code (and service action) its CDB
// length, its CDB usage data (SPC-4 6.35.3: the bits the device server looks at, which is also
// what the reserved-bit check of every CDB uses), how persistent reservations restrict it, and
// its handler. REPORT SUPPORTED OPERATION CODES reports this same table.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "scsi/command.hpp"

namespace vhostd::scsi {

// SPC-4 5.12.1 table 173, reduced to the two columns that differ between commands.
enum class Access : uint8_t {
    none,   // allowed whatever the reservation (INQUIRY, PERSISTENT RESERVE, ...)
    read,   // blocked by the exclusive-access types for non-holders
    write,  // blocked by every type for non-holders
};

using Handler = Disposition (*)(Command& cmd) noexcept;

struct CommandInfo {
    uint8_t opcode;
    bool has_service_action;
    uint16_t service_action;
    uint8_t cdb_length;
    std::array<uint8_t, 16> usage;  // usage[0] = opcode; bits a CDB may set in bytes 1..n-1
    Access access;
    bool without_lun;  // answered for LUNs that do not exist (INQUIRY, REPORT LUNS, REQUEST SENSE)
    Handler handler;
};

// The command a CDB names, or nullptr. `cdb` holds at least 2 bytes.
[[nodiscard]] const CommandInfo* find_command(const uint8_t* cdb) noexcept;
// Lookup by opcode and service action (REPORT SUPPORTED OPERATION CODES).
[[nodiscard]] const CommandInfo* find_command(uint8_t opcode, uint16_t service_action) noexcept;
// Whether any entry has this opcode, with or without service actions.
[[nodiscard]] bool opcode_has_service_actions(uint8_t opcode) noexcept;
[[nodiscard]] std::span<const CommandInfo> all_commands() noexcept;

// The service action of a CDB whose command uses them (SPC-4 4.2.5.4: byte 1, bits 4:0).
inline uint16_t service_action_of(const uint8_t* cdb) {
    return cdb[1] & 0x1f;
}

// --- the handlers, one file per concept ---
Disposition test_unit_ready(Command& cmd) noexcept;
Disposition request_sense(Command& cmd) noexcept;
Disposition start_stop_unit(Command& cmd) noexcept;
Disposition inquiry(Command& cmd) noexcept;
Disposition read_capacity_10(Command& cmd) noexcept;
Disposition read_capacity_16(Command& cmd) noexcept;
Disposition read_write(Command& cmd) noexcept;
Disposition verify(Command& cmd) noexcept;
Disposition synchronize_cache(Command& cmd) noexcept;
Disposition write_same(Command& cmd) noexcept;
Disposition unmap(Command& cmd) noexcept;
Disposition mode_sense(Command& cmd) noexcept;
Disposition mode_select(Command& cmd) noexcept;
Disposition report_luns(Command& cmd) noexcept;
Disposition report_supported_opcodes(Command& cmd) noexcept;
Disposition persistent_reserve_in(Command& cmd) noexcept;
Disposition persistent_reserve_out(Command& cmd) noexcept;

}  // namespace vhostd::scsi

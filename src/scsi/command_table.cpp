// The implemented commands and their CDB usage data (SPC-4 6.35, SBC-3 5).
#include "scsi/command_table.hpp"

#include "scsi/cdb.hpp"

namespace vhostd::scsi {

namespace {

constexpr Access none = Access::none;
constexpr Access rd = Access::read;
constexpr Access wr = Access::write;

// One row per command; SA rows are per service action. Usage bytes leave out the
// RDPROTECT/WRPROTECT/VRPROTECT fields (no protection information), ANCHOR, BYTCHK, SP (no saved
// pages), and NACA and LINK in the control byte: setting them is INVALID FIELD IN CDB.
constexpr uint8_t F = 0xff;
constexpr bool lun = false;  // needs an existing LUN
constexpr bool any = true;   // answered for LUNs that do not exist too
constexpr bool sa = true;    // has service actions
constexpr bool no_sa = false;

// clang-format off
constexpr CommandInfo kCommands[] = {
    {op::test_unit_ready, no_sa, 0, 6, {0x00, 0, 0, 0, 0, 0}, none, lun, test_unit_ready},
    {op::request_sense, no_sa, 0, 6, {0x03, 0, 0, 0, F, 0}, none, any, request_sense},
    {op::read_6, no_sa, 0, 6, {0x08, 0x1f, F, F, F, 0}, rd, lun, read_write},
    {op::write_6, no_sa, 0, 6, {0x0a, 0x1f, F, F, F, 0}, wr, lun, read_write},
    {op::inquiry, no_sa, 0, 6, {0x12, 0x01, F, F, F, 0}, none, any, inquiry},
    {op::mode_select_6, no_sa, 0, 6, {0x15, 0x10, 0, 0, F, 0}, wr, lun, mode_select},
    {op::mode_sense_6, no_sa, 0, 6, {0x1a, 0x08, F, F, F, 0}, rd, lun, mode_sense},
    {op::start_stop_unit, no_sa, 0, 6, {0x1b, 0x01, 0, 0, 0x07, 0}, none, lun, start_stop_unit},
    {op::read_capacity_10, no_sa, 0, 10, {0x25, 0, F, F, F, F, 0, 0, 0x01, 0}, none, lun, read_capacity_10},
    {op::read_10, no_sa, 0, 10, {0x28, 0x1c, F, F, F, F, 0x1f, F, F, 0}, rd, lun, read_write},
    {op::write_10, no_sa, 0, 10, {0x2a, 0x18, F, F, F, F, 0x1f, F, F, 0}, wr, lun, read_write},
    {op::verify_10, no_sa, 0, 10, {0x2f, 0x10, F, F, F, F, 0x1f, F, F, 0}, rd, lun, verify},
    {op::synchronize_cache_10, no_sa, 0, 10, {0x35, 0x06, F, F, F, F, 0x1f, F, F, 0}, wr, lun, synchronize_cache},
    {op::write_same_10, no_sa, 0, 10, {0x41, 0x08, F, F, F, F, 0x1f, F, F, 0}, wr, lun, write_same},
    {op::unmap, no_sa, 0, 10, {0x42, 0, 0, 0, 0, 0, 0x1f, F, F, 0}, wr, lun, unmap},
    {op::mode_select_10, no_sa, 0, 10, {0x55, 0x10, 0, 0, 0, 0, 0, F, F, 0}, wr, lun, mode_select},
    {op::mode_sense_10, no_sa, 0, 10, {0x5a, 0x18, F, F, 0, 0, 0, F, F, 0}, rd, lun, mode_sense},
    // SPC-4 6.13: READ KEYS, READ RESERVATION, REPORT CAPABILITIES.
    {op::persistent_reserve_in, sa, 0x00, 10, {0x5e, 0x1f, 0, 0, 0, 0, 0, F, F, 0}, none, lun, persistent_reserve_in},
    {op::persistent_reserve_in, sa, 0x01, 10, {0x5e, 0x1f, 0, 0, 0, 0, 0, F, F, 0}, none, lun, persistent_reserve_in},
    {op::persistent_reserve_in, sa, 0x02, 10, {0x5e, 0x1f, 0, 0, 0, 0, 0, F, F, 0}, none, lun, persistent_reserve_in},
    // SPC-4 6.14: REGISTER, RESERVE, RELEASE, CLEAR, PREEMPT, REGISTER AND IGNORE EXISTING KEY.
    {op::persistent_reserve_out, sa, 0x00, 10, {0x5f, 0x1f, F, 0, 0, F, F, F, F, 0}, none, lun, persistent_reserve_out},
    {op::persistent_reserve_out, sa, 0x01, 10, {0x5f, 0x1f, F, 0, 0, F, F, F, F, 0}, none, lun, persistent_reserve_out},
    {op::persistent_reserve_out, sa, 0x02, 10, {0x5f, 0x1f, F, 0, 0, F, F, F, F, 0}, none, lun, persistent_reserve_out},
    {op::persistent_reserve_out, sa, 0x03, 10, {0x5f, 0x1f, F, 0, 0, F, F, F, F, 0}, none, lun, persistent_reserve_out},
    {op::persistent_reserve_out, sa, 0x04, 10, {0x5f, 0x1f, F, 0, 0, F, F, F, F, 0}, none, lun, persistent_reserve_out},
    {op::persistent_reserve_out, sa, 0x06, 10, {0x5f, 0x1f, F, 0, 0, F, F, F, F, 0}, none, lun, persistent_reserve_out},
    {op::read_16, no_sa, 0, 16, {0x88, 0x1c, F, F, F, F, F, F, F, F, F, F, F, F, 0x1f, 0}, rd, lun, read_write},
    {op::write_16, no_sa, 0, 16, {0x8a, 0x18, F, F, F, F, F, F, F, F, F, F, F, F, 0x1f, 0}, wr, lun, read_write},
    {op::verify_16, no_sa, 0, 16, {0x8f, 0x10, F, F, F, F, F, F, F, F, F, F, F, F, 0x1f, 0}, rd, lun, verify},
    {op::synchronize_cache_16, no_sa, 0, 16, {0x91, 0x06, F, F, F, F, F, F, F, F, F, F, F, F, 0x1f, 0}, wr, lun, synchronize_cache},
    {op::write_same_16, no_sa, 0, 16, {0x93, 0x09, F, F, F, F, F, F, F, F, F, F, F, F, 0x1f, 0}, wr, lun, write_same},
    {op::service_action_in_16, sa, kSaReadCapacity16, 16, {0x9e, 0x1f, F, F, F, F, F, F, F, F, F, F, F, F, 0x01, 0}, none, lun, read_capacity_16},
    {op::report_luns, no_sa, 0, 12, {0xa0, 0, F, 0, 0, 0, F, F, F, F, 0, 0}, none, any, report_luns},
    {op::maintenance_in, sa, kSaReportSupportedOpcodes, 12, {0xa3, 0x1f, 0x87, F, F, F, F, F, F, F, 0, 0}, none, lun, report_supported_opcodes},
    {op::read_12, no_sa, 0, 12, {0xa8, 0x1c, F, F, F, F, F, F, F, F, 0x1f, 0}, rd, lun, read_write},
    {op::write_12, no_sa, 0, 12, {0xaa, 0x18, F, F, F, F, F, F, F, F, 0x1f, 0}, wr, lun, read_write},
};
// clang-format on

}  // namespace

const CommandInfo* find_command(uint8_t opcode, uint16_t service_action) noexcept {
    for (const CommandInfo& c : kCommands) {
        if (c.opcode == opcode && (!c.has_service_action || c.service_action == service_action)) {
            return &c;
        }
    }
    return nullptr;
}

const CommandInfo* find_command(const uint8_t* cdb) noexcept {
    return find_command(cdb[0], service_action_of(cdb));
}

bool opcode_has_service_actions(uint8_t opcode) noexcept {
    for (const CommandInfo& c : kCommands) {
        if (c.opcode == opcode) {
            return c.has_service_action;
        }
    }
    return false;
}

std::span<const CommandInfo> all_commands() noexcept {
    return kCommands;
}

}  // namespace vhostd::scsi

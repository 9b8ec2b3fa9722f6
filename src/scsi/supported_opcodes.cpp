// REPORT SUPPORTED OPERATION CODES (SPC-4 6.35): the command table, all at once (reporting
// options 000b) or one command (001b, 010b, 011b) with its CDB usage data.
#include <array>

#include "scsi/cdb.hpp"
#include "scsi/command_table.hpp"
#include "scsi/sense.hpp"
#include "scsi/transfer.hpp"

namespace vhostd::scsi {

namespace {

constexpr size_t kTimeoutsDescriptor = 12;  // SPC-4 6.35.4, when RCTD=1

size_t timeouts(bool rctd, uint8_t* out) {
    if (!rctd) {
        return 0;
    }
    std::fill(out, out + kTimeoutsDescriptor, 0);
    put_be16(out, 0x0a);  // DESCRIPTOR LENGTH; timeouts 0: not specified
    return kTimeoutsDescriptor;
}

}  // namespace

Disposition report_supported_opcodes(Command& cmd) noexcept {
    Task& task = cmd.task;
    const uint8_t* cdb = task.cdb.data();
    const bool rctd = (cdb[2] & 0x80) != 0;
    const uint8_t options = cdb[2] & 0x07;
    const uint8_t opcode = cdb[3];
    const uint16_t sa = get_be16(cdb + 4);
    const uint32_t allocation_length = get_be32(cdb + 6);
    std::array<uint8_t, 4 + 64 * (8 + kTimeoutsDescriptor)> d{};
    size_t at = 0;
    if (options == 0) {
        at = 4;
        for (const CommandInfo& c : all_commands()) {
            d[at] = c.opcode;
            put_be16(&d[at + 2], c.service_action);
            d[at + 5] = static_cast<uint8_t>((rctd ? 0x02 : 0) | (c.has_service_action ? 1 : 0));
            put_be16(&d[at + 6], c.cdb_length);
            at += 8;
            at += timeouts(rctd, &d[at]);
        }
        put_be32(&d[0], static_cast<uint32_t>(at - 4));  // COMMAND DATA LENGTH
    } else if (options <= 3) {
        const bool with_sa = opcode_has_service_actions(opcode);
        // SPC-4 6.35.1: 001b names an opcode without service actions, 010b one with them;
        // asking the wrong way is an invalid field. 011b accepts either.
        if ((options == 1 && with_sa) || (options == 2 && !with_sa && find_command(opcode, 0))) {
            set_invalid_field(task, true, 2, 2);
            return Disposition::done;
        }
        const CommandInfo* c = find_command(opcode, with_sa ? sa : 0);
        if (c != nullptr && options == 3 && !with_sa && sa != 0) {
            c = nullptr;  // 011b with a service action for a command that has none
        }
        d[1] = 0x01;  // SUPPORT 001b: not supported
        at = 4;
        if (c != nullptr) {
            d[1] = static_cast<uint8_t>((rctd ? 0x80 : 0) | 0x03);  // CTDP, SUPPORT 011b
            put_be16(&d[2], c->cdb_length);
            std::copy(c->usage.begin(), c->usage.begin() + c->cdb_length, &d[4]);
            if (c->has_service_action) {
                // The usage data's service action bits are those of this service action.
                d[5] = static_cast<uint8_t>(c->service_action);
            }
            at += c->cdb_length;
            at += timeouts(rctd, &d[at]);
        }
    } else {
        set_invalid_field(task, true, 2, 2);
        return Disposition::done;
    }
    reply(task, {d.data(), at}, allocation_length);
    return Disposition::done;
}

}  // namespace vhostd::scsi

// PERSISTENT RESERVE IN (SPC-4 6.13): READ KEYS, READ RESERVATION, REPORT CAPABILITIES.
#include <array>
#include <mutex>

#include "scsi/cdb.hpp"
#include "scsi/command_table.hpp"
#include "scsi/lun_channel.hpp"
#include "scsi/sense.hpp"
#include "scsi/transfer.hpp"

namespace vhostd::scsi {

namespace {

bool all_registrants(ReservationType type) {
    return type == ReservationType::write_exclusive_all_registrants ||
           type == ReservationType::exclusive_access_all_registrants;
}

size_t read_keys(Reservations& r, uint8_t* d) {
    size_t at = 8;
    for (const auto& reg : r.registrations()) {
        if (reg.registered) {
            put_be64(d + at, reg.key);
            at += 8;
        }
    }
    put_be32(d, r.generation());
    put_be32(d + 4, static_cast<uint32_t>(at - 8));  // ADDITIONAL LENGTH
    return at;
}

size_t read_reservation(Reservations& r, uint8_t* d) {
    put_be32(d, r.generation());
    if (r.type() == ReservationType::none) {
        return 8;
    }
    put_be32(d + 4, 16);
    // SPC-4 6.13.3.2: the holder's key; 0 for the all-registrants types.
    const uint64_t key = all_registrants(r.type()) ? 0 : r.registrations()[r.holder()].key;
    put_be64(d + 8, key);
    d[21] = static_cast<uint8_t>(r.type());  // SCOPE 0h (logical unit), TYPE
    return 24;
}

size_t report_capabilities(uint8_t* d) {
    put_be16(d, 8);
    d[2] = 0x00;  // no CRH, SIP_C, ATP_C, PTPL_C: registrations are not persisted
    d[3] = 0x80;  // TMV: the type mask below is valid
    // SPC-4 6.13.4: WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX; EX_AC_AR.
    d[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;
    d[5] = 0x01;
    return 8;
}

}  // namespace

Disposition persistent_reserve_in(Command& cmd) noexcept {
    Task& task = cmd.task;
    Reservations& r = cmd.lun->unit().reservations();
    std::array<uint8_t, 8 + 8 * kReservationInitiators> d{};
    size_t n = 0;
    {
        std::lock_guard lock(r.mutex());
        switch (service_action_of(task.cdb.data())) {
            case 0x00:
                n = read_keys(r, d.data());
                break;
            case 0x01:
                n = read_reservation(r, d.data());
                break;
            default:
                n = report_capabilities(d.data());
                break;
        }
    }
    reply(task, {d.data(), n}, get_be16(task.cdb.data() + 7));
    return Disposition::done;
}

}  // namespace vhostd::scsi

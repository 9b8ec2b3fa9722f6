// INQUIRY (SPC-4 6.6): standard inquiry data, and the VPD pages through vpd.hpp. Answered for
// LUNs that do not exist too, with peripheral qualifier 011b (SPC-4 6.6.2).
#include <array>
#include <cstring>

#include "scsi/cdb.hpp"
#include "scsi/command_table.hpp"
#include "scsi/lun_channel.hpp"
#include "scsi/sense.hpp"
#include "scsi/transfer.hpp"
#include "scsi/vpd.hpp"

namespace vhostd::scsi {

namespace {

constexpr uint8_t kDirectAccessBlockDevice = 0x00;
constexpr uint8_t kNoDevice = 0x7f;  // qualifier 011b, type 1Fh: no LU at this LUN

void put_padded(uint8_t* dst, std::string_view text, size_t width) {
    std::memset(dst, ' ', width);
    std::memcpy(dst, text.data(), std::min(text.size(), width));
}

size_t standard_data(const LunChannel* lun, std::array<uint8_t, 96>& d) {
    d.fill(0);
    d[0] = lun != nullptr ? kDirectAccessBlockDevice : kNoDevice;
    d[2] = 0x06;    // VERSION: SPC-4
    d[3] = 0x12;    // HISUP=1 (hierarchical LUNs), RESPONSE DATA FORMAT 2
    d[4] = 36 - 5;  // ADDITIONAL LENGTH: bytes after this one
    d[7] = 0x02;    // CMDQUE: tagged queueing
    put_padded(&d[8], kVendorId, 8);
    put_padded(&d[16], lun != nullptr ? std::string_view(lun->unit().product()) : "", 16);
    put_padded(&d[32], kProductRevision, 4);
    return 36;
}

}  // namespace

Disposition inquiry(Command& cmd) noexcept {
    Task& task = cmd.task;
    const uint8_t* cdb = task.cdb.data();
    const bool evpd = (cdb[1] & 0x01) != 0;
    const uint8_t page = cdb[2];
    const uint16_t allocation_length = get_be16(cdb + 3);
    if (!evpd) {
        if (page != 0) {
            set_invalid_field(task, true, 2);  // SPC-4 6.6.1: PAGE CODE needs EVPD=1
            return Disposition::done;
        }
        std::array<uint8_t, 96> data{};
        const size_t n = standard_data(cmd.lun, data);
        reply(task, {data.data(), n}, allocation_length);
        return Disposition::done;
    }
    if (cmd.lun == nullptr) {
        set_check_condition(task, sense::lun_not_supported);
        return Disposition::done;
    }
    std::array<uint8_t, kMaxVpdPage> data{};
    const size_t n = build_vpd_page(cmd.lun->unit(), page, data);
    if (n == 0) {
        set_invalid_field(task, true, 2);  // a page the device does not have
        return Disposition::done;
    }
    reply(task, {data.data(), n}, allocation_length);
    return Disposition::done;
}

}  // namespace vhostd::scsi

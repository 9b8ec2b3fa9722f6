// MODE SENSE (6, 10) and MODE SELECT (6, 10) (SPC-4 6.11-6.14): mode parameter header, block
// descriptor and pages; MODE SELECT accepts a parameter list that changes nothing.
#include <array>
#include <cstring>
#include <optional>

#include "scsi/cdb.hpp"
#include "scsi/command_table.hpp"
#include "scsi/lun_channel.hpp"
#include "scsi/mode_pages.hpp"
#include "scsi/sense.hpp"
#include "scsi/transfer.hpp"

namespace vhostd::scsi {

namespace {

// Short (SBC-3 6.4.2.2) or long LBA (6.4.2.3) block descriptor; returns its length.
size_t block_descriptor(const LogicalUnit& unit, bool long_lba, uint8_t* out) {
    const uint64_t blocks = unit.num_blocks();
    if (long_lba) {
        put_be64(out, blocks);
        put_be32(out + 12, unit.block_size());
        return 16;
    }
    put_be32(out, blocks > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(blocks));
    put_be32(out + 4, unit.block_size() & 0xffffff);  // byte 4 reserved, 5-7 the length
    return 8;
}

}  // namespace

Disposition mode_sense(Command& cmd) noexcept {
    Task& task = cmd.task;
    const uint8_t* cdb = task.cdb.data();
    const bool six = cdb[0] == op::mode_sense_6;
    const bool dbd = (cdb[1] & 0x08) != 0;
    const bool llbaa = !six && (cdb[1] & 0x10) != 0;
    const auto pc = static_cast<PageControl>(cdb[2] >> 6);
    const uint8_t page = cdb[2] & 0x3f;
    const uint8_t subpage = cdb[3];
    const uint32_t allocation_length = six ? cdb[4] : get_be16(cdb + 7);
    if (pc == PageControl::saved) {
        set_check_condition(task, sense::saving_parameters_not_supported);
        return Disposition::done;
    }
    // No subpages: only subpage 0, or FFh with all pages (SPC-4 6.11.1).
    if (subpage != 0 && !(subpage == 0xff && page == kAllPages)) {
        set_invalid_field(task, true, 3);
        return Disposition::done;
    }
    const LogicalUnit& unit = cmd.lun->unit();
    std::array<uint8_t, 128> d{};
    const size_t header = six ? 4 : 8;
    size_t at = header;
    if (!dbd) {
        at += block_descriptor(unit, llbaa, &d[at]);
    }
    const size_t descriptors = at - header;
    if (page == kAllPages) {
        for (uint8_t p : kModePages) {
            at += build_mode_page(unit, p, pc, &d[at]);
        }
    } else {
        const size_t n = build_mode_page(unit, page, pc, &d[at]);
        if (n == 0) {
            set_invalid_field(task, true, 2, 5);
            return Disposition::done;
        }
        at += n;
    }
    // SBC-3 6.4.1: DEVICE-SPECIFIC PARAMETER: WP, and DPOFUA (DPO and FUA are understood).
    const uint8_t device_specific =
        static_cast<uint8_t>((unit.bdev()->capabilities().read_only ? 0x80 : 0) | 0x10);
    if (six) {
        d[0] = static_cast<uint8_t>(at - 1);  // MODE DATA LENGTH: bytes after this field
        d[2] = device_specific;
        d[3] = static_cast<uint8_t>(descriptors);
    } else {
        put_be16(&d[0], static_cast<uint16_t>(at - 2));
        d[3] = device_specific;
        d[4] = llbaa && !dbd ? 0x01 : 0x00;  // LONGLBA
        put_be16(&d[6], static_cast<uint16_t>(descriptors));
    }
    reply(task, {d.data(), at}, allocation_length);
    return Disposition::done;
}

Disposition mode_select(Command& cmd) noexcept {
    Task& task = cmd.task;
    const uint8_t* cdb = task.cdb.data();
    const bool six = cdb[0] == op::mode_select_6;
    const uint32_t length = six ? cdb[4] : get_be16(cdb + 7);
    const uint32_t header = six ? 4 : 8;
    if (length == 0) {
        set_good(task);  // SPC-4 6.9: no parameter list, nothing changes
        return Disposition::done;
    }
    if (length < header || length > detail::kParamBufferSize) {
        set_check_condition(task, sense::parameter_list_length_error);
        return Disposition::done;
    }
    if (!fetch_parameters(task, length)) {
        return Disposition::done;
    }
    const uint8_t* p = task.state.param.data();
    const uint32_t descriptors = six ? p[3] : get_be16(p + 6);
    if (descriptors > length - header) {
        set_check_condition(task, sense::parameter_list_length_error);
        return Disposition::done;
    }
    LogicalUnit& unit = cmd.lun->unit();
    if (descriptors != 0) {
        const bool long_lba = !six && (p[4] & 0x01) != 0;
        std::array<uint8_t, 16> current{};
        const size_t n = block_descriptor(unit, long_lba, current.data());
        // Only the current geometry may be "selected": the block size cannot change.
        if (descriptors != n || std::memcmp(p + header + n - 3, &current[n - 3], 3) != 0) {
            set_invalid_field(task, false, static_cast<uint16_t>(header));
            return Disposition::done;
        }
    }
    // Each page must repeat its current values except in changeable bits (WCE). Every step
    // moves on by at least 2 bytes, so the walk ends. Nothing is applied until all is checked.
    std::optional<bool> wce;
    uint32_t at = header + descriptors;
    while (at < length) {
        if (length - at < 2 || length - at - 2 < p[at + 1]) {
            set_check_condition(task, sense::parameter_list_length_error);
            return Disposition::done;
        }
        uint8_t current[kMaxModePage];
        uint8_t changeable[kMaxModePage];
        const uint8_t page = p[at] & 0x3f;
        const bool subpage_format = (p[at] & 0x40) != 0;  // SPF: no subpages here
        const size_t n =
            subpage_format ? 0 : build_mode_page(unit, page, PageControl::current, current);
        if (n == 0 || p[at + 1] != n - 2) {
            set_invalid_field(task, false, static_cast<uint16_t>(at));
            return Disposition::done;
        }
        build_mode_page(unit, page, PageControl::changeable, changeable);
        for (uint32_t i = 2; i < n; ++i) {
            if ((p[at + i] & ~changeable[i]) != (current[i] & ~changeable[i])) {
                set_invalid_field(task, false, static_cast<uint16_t>(at + i));
                return Disposition::done;
            }
        }
        if (page == 0x08) {
            wce = (p[at + 2] & 0x04) != 0;  // checked above unless changeable
        }
        at += static_cast<uint32_t>(n);
    }
    if (wce && *wce != unit.write_cache_enabled()) {
        unit.set_write_cache(*wce);
        // SPC-4 7.5.8 / SAM-5 5.14: the other initiators learn that the parameters changed.
        for (uint32_t i = 0; i < kMaxInitiators; ++i) {
            if (i != task.initiator) {
                unit.unit_attentions().raise(i, UnitAttention::mode_parameters_changed);
            }
        }
    }
    set_good(task);
    return Disposition::done;
}

}  // namespace vhostd::scsi

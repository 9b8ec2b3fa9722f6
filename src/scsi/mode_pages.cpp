// Mode page contents.
#include "scsi/mode_pages.hpp"

#include <cstring>

#include "scsi/cdb.hpp"

namespace vhostd::scsi {

size_t build_mode_page(const LogicalUnit& unit, uint8_t page, PageControl pc, uint8_t* out) {
    std::memset(out, 0, kMaxModePage);
    size_t length = 0;
    switch (page) {
        case 0x01:
            length = 12;
            break;  // SBC-3 6.4.7: no recovery settings to report
        case 0x08:
            length = 20;
            break;  // SBC-3 6.4.5
        case 0x0a:
            length = 12;
            break;  // SPC-4 7.5.8
        default:
            return 0;
    }
    out[0] = page;
    out[1] = static_cast<uint8_t>(length - 2);
    const bool has_cache = unit.bdev()->capabilities().flush;
    if (pc == PageControl::changeable) {
        if (page == 0x08 && has_cache) {
            out[2] = 0x04;  // WCE
        }
        return length;  // every other changeable bit is 0
    }
    switch (page) {
        case 0x08: {
            // WCE: writes are cached until SYNCHRONIZE CACHE / FUA.
            const bool wce = pc == PageControl::current ? unit.write_cache_enabled() : has_cache;
            out[2] = wce ? 0x04 : 0x00;
            break;
        }
        case 0x0a:
            out[2] = 0x02;              // GLTSD: no log parameters are saved
            out[3] = 0x10;              // QUEUE ALGORITHM MODIFIER 1: unrestricted reordering
            out[5] = 0x40;              // TAS: aborted tasks end with TASK ABORTED status
            put_be16(&out[8], 0xffff);  // BUSY TIMEOUT PERIOD: unlimited
            break;
        default:
            break;
    }
    return length;
}

}  // namespace vhostd::scsi

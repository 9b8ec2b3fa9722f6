// Identify data: the controller structure, the NVM controller structure, NSID lists.
#include "nvme/identify.hpp"

#include <algorithm>
#include <cstring>

#include "nvme/core.hpp"

namespace vhostd::nvme {

using namespace nvme_spec;

namespace {

// ASCII, space padded, not NUL terminated (5.15.2.1 SN, MN, FR).
template <size_t N>
void put_text(std::array<char, N>& field, std::string_view text) {
    field.fill(' ');
    std::copy_n(text.begin(), std::min(N, text.size()), field.begin());
}

}  // namespace

void identify_controller(const ControllerOptions& options, bool shadow_doorbells,
                         IdentifyController& out) {
    std::memset(&out, 0, sizeof(out));
    out.vid = kVendorId;
    out.ssvid = kVendorId;
    put_text(out.sn, options.serial_number);
    put_text(out.mn, options.model_number);
    put_text(out.fr, kFirmwareRevision);
    out.rab = 6;  // arbitration burst: 64 commands
    out.mdts = kMdts;
    out.cntlid = options.cntlid;
    out.ver = version(1, 4);
    out.oaes = oaes::kNamespaceAttributeNotices;
    out.cntrltype = kControllerTypeIo;
    out.oacs = shadow_doorbells ? oacs::kDoorbellBufferConfig : 0;
    out.acl = 3;  // Abort command limit, 0's based
    out.aerl = kAerl;
    out.frmw = 0x1 | (1 << 1);  // slot 1 read-only, one slot
    out.lpa = lpa::kExtendedData;
    out.elpe = kElpe;
    out.npss = 0;      // one power state
    out.wctemp = 343;  // kelvin: 70 C
    out.cctemp = 373;  // 100 C
    out.sqes = static_cast<uint8_t>((kSqesLog2 << 4) | kSqesLog2);
    out.cqes = static_cast<uint8_t>((kCqesLog2 << 4) | kCqesLog2);
    out.nn = options.max_namespaces;
    out.oncs = oncs::kDatasetManagement | oncs::kWriteZeroes;
    out.vwc = vwc::kPresent | vwc::kFlushBroadcastUnsupported;
    out.sgls = kSglsSupportedNoAlignment;
    std::memcpy(out.subnqn.data(), options.subsystem_nqn.data(),
                std::min(options.subsystem_nqn.size(), out.subnqn.size() - 1));
    // Power state 0: 25 W, operational.
    out.psd[0].max_power = 2500;
}

void identify_controller_nvm(IdentifyControllerNvm& out) {
    std::memset(&out, 0, sizeof(out));
}

void active_namespace_list(std::span<const uint32_t> active, uint32_t after,
                           std::span<uint8_t> out) {
    auto first = std::upper_bound(active.begin(), active.end(), after);
    size_t at = 0;
    for (auto it = first; it != active.end() && at + sizeof(uint32_t) <= out.size() &&
                          at / sizeof(uint32_t) < kMaxNsidList;
         ++it, at += sizeof(uint32_t)) {
        std::memcpy(out.data() + at, &*it, sizeof(uint32_t));
    }
}

}  // namespace vhostd::nvme

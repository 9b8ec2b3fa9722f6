// Admin command builders and reply parsers shared by NvmeDriver and the tests that drive a
// controller by hand: Identify, the Changed Namespace List log page, NSID lists.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "spec/nvme.hpp"

namespace vhostd::frontend {

// Identify (5.15) with CNS `cns` into the page at `gpa`.
inline nvme_spec::Command identify_command(uint8_t cns, uint32_t nsid, uint64_t gpa) {
    nvme_spec::Command c{};
    c.opcode = nvme_spec::admin_opcode::kIdentify;
    c.nsid = nsid;
    c.dptr1 = gpa;
    c.cdw10 = cns;
    return c;
}

// Get Log Page (5.14) of the whole Changed Namespace List into the page at `gpa`.
inline nvme_spec::Command changed_namespaces_command(uint64_t gpa) {
    nvme_spec::Command c{};
    c.opcode = nvme_spec::admin_opcode::kGetLogPage;
    c.nsid = nvme_spec::kNsidBroadcast;
    c.dptr1 = gpa;
    constexpr uint32_t kDwords = nvme_spec::kChangedNamespaceLogSize / 4;
    c.cdw10 = nvme_spec::log_id::kChangedNamespaces | ((kDwords - 1) << 16);  // NUMDL, 0's based
    return c;
}

// A 4 KiB list of NSIDs (active namespace list, changed namespace list): the entries before
// the first zero, at most 1024.
inline std::vector<uint32_t> nsid_list(const uint8_t* page) {
    std::vector<uint32_t> out;
    for (size_t i = 0; i < nvme_spec::kMaxNsidList; ++i) {
        uint32_t id = 0;
        std::memcpy(&id, page + i * 4, 4);
        if (id == 0) {
            break;
        }
        out.push_back(id);
    }
    return out;
}

}  // namespace vhostd::frontend

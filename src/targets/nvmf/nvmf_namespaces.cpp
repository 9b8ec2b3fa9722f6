// NvmfTarget's namespaces: NSIDs, identifiers (UUID, and the NGUID and EUI-64 derived from it),
// bdev claims, and their addition to and removal from every listener's controller.
#include <algorithm>
#include <cctype>

#include "base/log.hpp"
#include "block/uuid.hpp"
#include "targets/nvmf/nvmf_target.hpp"

namespace vhostd::targets::nvmf {
namespace {

// NGUID and EUI-64 as SPDK takes them: hex digits, dashes allowed; upper-case hex out.
Result<std::string> normalize_hex(std::string_view what, std::string_view text, size_t bytes) {
    std::string out;
    for (char c : text) {
        if (c == '-') {
            continue;
        }
        if (!std::isxdigit(static_cast<unsigned char>(c))) {
            return make_error(EINVAL, "{}: expected {} hex digits", what, bytes * 2);
        }
        out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    if (out.size() != bytes * 2) {
        return make_error(EINVAL, "{}: expected {} hex digits", what, bytes * 2);
    }
    return out;
}

// 32 hex digits -> the 8-4-4-4-12 text.
std::string uuid_from_hex(const std::string& hex) {
    std::string out;
    for (size_t i = 0; i < hex.size(); ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) {
            out.push_back('-');
        }
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(hex[i]))));
    }
    return out;
}

}  // namespace

// --- namespaces ---

Result<void> NvmfTarget::add_to_controller(NvmfController& controller,
                                           const NamespaceRecord& ns) const {
    std::shared_ptr<block::Bdev> bdev = context_.bdevs.find(ns.bdev_name);
    if (!bdev) {
        return make_error(ENODEV, "bdev {} not found", ns.bdev_name);
    }
    VHOSTD_TRY(controller.nvme().add_namespace(
        nvme::NamespaceOptions{.nsid = ns.nsid, .bdev = std::move(bdev), .uuid = ns.uuid}));
    return {};
}

Result<uint32_t> NvmfTarget::add_namespace(const std::string& nqn, const NamespaceParams& params) {
    Subsystem* subsystem = VHOSTD_TRY(find_idle(nqn));
    std::shared_ptr<block::Bdev> bdev = context_.bdevs.find(params.bdev_name);
    if (!bdev) {
        return make_error(ENODEV, "bdev {} not found", params.bdev_name);
    }
    const uint32_t max = subsystem->settings.max_namespaces;
    auto used = [&](uint32_t nsid) {
        return std::any_of(subsystem->namespaces.begin(), subsystem->namespaces.end(),
                           [&](const NamespaceRecord& ns) { return ns.nsid == nsid; });
    };
    uint32_t nsid = params.nsid;
    if (nsid == 0) {
        for (uint32_t candidate = 1; candidate <= max && nsid == 0; ++candidate) {
            if (!used(candidate)) {
                nsid = candidate;
            }
        }
        if (nsid == 0) {
            return make_error(ENOSPC, "subsystem {}: all {} namespaces are in use", nqn, max);
        }
    } else if (nsid > max) {
        return make_error(EINVAL, "NSID {} exceeds the subsystem's max_namespaces {}", nsid, max);
    } else if (used(nsid)) {
        return make_error(EEXIST, "subsystem {}: NSID {} is in use", nqn, nsid);
    }

    // The namespace's identifiers: vhostd derives NGUID and EUI-64 from the UUID, so a given
    // NGUID or EUI-64 must be the one the UUID gives (SPDK's save_config writes NGUID so).
    std::string uuid;
    if (params.uuid) {
        uuid = VHOSTD_TRY(block::normalize_uuid(*params.uuid));
    }
    if (params.nguid) {
        const std::string nguid = VHOSTD_TRY(normalize_hex("nguid", *params.nguid, 16));
        if (uuid.empty()) {
            uuid = uuid_from_hex(nguid);
        } else if (nguid != nguid_of(uuid)) {
            return make_error(EINVAL,
                              "nguid {}: vhostd's NGUID is the UUID's bytes ({}); give one of "
                              "them or matching ones",
                              nguid, nguid_of(uuid));
        }
    }
    if (uuid.empty()) {
        uuid = VHOSTD_TRY(block::normalize_uuid(bdev->uuid()));
    }
    if (params.eui64) {
        const std::string eui64 = VHOSTD_TRY(normalize_hex("eui64", *params.eui64, 8));
        if (eui64 != eui64_of(uuid)) {
            return make_error(EINVAL, "eui64 {}: vhostd derives EUI-64 from the UUID ({})", eui64,
                              eui64_of(uuid));
        }
    }
    for (const NamespaceRecord& ns : subsystem->namespaces) {
        if (ns.uuid == uuid) {
            return make_error(EEXIST, "subsystem {}: namespace {} has UUID {} already", nqn,
                              ns.nsid, uuid);
        }
    }

    VHOSTD_TRY(context_.bdevs.claim(bdev->name(), holder(*subsystem)));
    NamespaceRecord record{.nsid = nsid, .bdev_name = bdev->name(), .uuid = uuid};
    std::vector<NvmfController*> added;
    for (NvmfController* c : controllers_of(*subsystem)) {
        if (auto ok = add_to_controller(*c, record); !ok) {
            for (NvmfController* undo : added) {
                undo->nvme().remove_namespace(nsid, [](Result<void>) {});
            }
            (void)context_.bdevs.release(record.bdev_name, holder(*subsystem));
            return std::unexpected(ok.error());
        }
        added.push_back(c);
    }
    auto at = std::find_if(subsystem->namespaces.begin(), subsystem->namespaces.end(),
                           [&](const NamespaceRecord& ns) { return ns.nsid > nsid; });
    subsystem->namespaces.insert(at, std::move(record));
    LOG_INFO(target, "nvmf subsystem {}: namespace {} on bdev {}", nqn, nsid, bdev->name());
    return nsid;
}

void NvmfTarget::remove_namespace(const std::string& nqn, uint32_t nsid, Done done) {
    auto found = find_idle(nqn);
    if (!found) {
        done(std::unexpected(found.error()));
        return;
    }
    Subsystem* subsystem = *found;
    auto record = std::find_if(subsystem->namespaces.begin(), subsystem->namespaces.end(),
                               [&](const NamespaceRecord& ns) { return ns.nsid == nsid; });
    if (record == subsystem->namespaces.end()) {
        done(make_error(ENOENT, "subsystem {} has no namespace {}", nqn, nsid));
        return;
    }
    subsystem->busy = true;
    const std::vector<NvmfController*> controllers = controllers_of(*subsystem);
    auto remaining = std::make_shared<size_t>(controllers.size() + 1);
    auto finish = std::make_shared<Done>(std::move(done));
    auto one_done = [this, subsystem, nsid, remaining, finish] {
        if (--*remaining != 0) {
            return;
        }
        auto it = std::find_if(subsystem->namespaces.begin(), subsystem->namespaces.end(),
                               [&](const NamespaceRecord& ns) { return ns.nsid == nsid; });
        if (it != subsystem->namespaces.end()) {
            (void)context_.bdevs.release(it->bdev_name, holder(*subsystem));
            LOG_INFO(target, "nvmf subsystem {}: namespace {} removed", subsystem->settings.nqn,
                     nsid);
            subsystem->namespaces.erase(it);
        }
        subsystem->busy = false;
        (*finish)({});
    };
    for (NvmfController* c : controllers) {
        // A namespace its controller dropped already (its bdev went away) is gone all the same.
        c->nvme().remove_namespace(nsid, [one_done](Result<void>) mutable { one_done(); });
    }
    one_done();
}

}  // namespace vhostd::targets::nvmf

// NvmfTarget: the transport, subsystems and listeners (namespaces: nvmf_namespaces.cpp).
#include "targets/nvmf/nvmf_target.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "base/log.hpp"
#include "targets/nvmf/nqn.hpp"

namespace vhostd::targets::nvmf {
namespace {

constexpr uint32_t kMaxNamespaces = 1024;  // nvme_spec::kMaxNsidList: one Identify page
constexpr uint16_t kMaxCntlid = 0xffef;    // NVMe-oF 1.1 4.3: FFF0h and above are reserved

bool printable_ascii(const std::string& text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::string trim_traddr(std::string traddr) {
    while (traddr.size() > 1 && traddr.back() == '/') {
        traddr.pop_back();
    }
    return traddr;
}

}  // namespace

// --- transport ---

Result<void> NvmfTarget::create_transport(TransportOptions options) {
    if (transport_) {
        return make_error(EEXIST, "Transport type 'VFIOUSER' already exists");
    }
    transport_ = std::move(options);
    LOG_INFO(target, "nvmf transport VFIOUSER created ({} doorbells, shadow doorbells {})",
             transport_->disable_mappable_bar0 ? "trapped" : "mapped",
             transport_->disable_shadow_doorbells ? "off" : "on");
    return {};
}

nlohmann::json NvmfTarget::transports() const {
    nlohmann::json out = nlohmann::json::array();
    if (transport_) {
        out.push_back(transport_->to_json());
    }
    return out;
}

Result<void> NvmfTarget::set_max_subsystems(uint32_t max) {
    if (max == 0 || max < subsystems_.size()) {
        return make_error(EINVAL, "max_subsystems {}: {} subsystems exist", max,
                          subsystems_.size());
    }
    max_subsystems_ = max;
    return {};
}

// --- subsystems ---

Subsystem* NvmfTarget::find(std::string_view nqn) const {
    auto it = std::find_if(subsystems_.begin(), subsystems_.end(),
                           [&](const auto& s) { return s->settings.nqn == nqn; });
    return it == subsystems_.end() ? nullptr : it->get();
}

Result<Subsystem*> NvmfTarget::existing(std::string_view nqn) const {
    Subsystem* subsystem = find(nqn);
    if (subsystem == nullptr) {
        return make_error(ENODEV, "Subsystem with NQN '{}' not found", nqn);  // SPDK's words
    }
    return subsystem;
}

Result<Subsystem*> NvmfTarget::find_idle(std::string_view nqn) const {
    Subsystem* subsystem = VHOSTD_TRY(existing(nqn));
    if (subsystem->busy) {
        return make_error(EBUSY, "subsystem {} is being changed; try again", nqn);
    }
    return subsystem;
}

std::string NvmfTarget::holder(const Subsystem& subsystem) const {
    return fmt::format("nvmf subsystem {}", subsystem.settings.nqn);
}

NvmfController* NvmfTarget::controller_of(const Listener& listener) const {
    return dynamic_cast<NvmfController*>(context_.controllers.find(listener.controller));
}

std::vector<NvmfController*> NvmfTarget::controllers_of(const Subsystem& subsystem) const {
    std::vector<NvmfController*> out;
    for (const Listener& listener : subsystem.listeners) {
        if (NvmfController* c = controller_of(listener)) {
            out.push_back(c);
        }
    }
    return out;
}

Result<void> NvmfTarget::create_subsystem(SubsystemSettings settings) {
    VHOSTD_TRY(check_nqn(settings.nqn));
    if (settings.nqn == kDiscoveryNqn) {
        return make_error(EEXIST, "{} is the discovery subsystem's NQN", settings.nqn);
    }
    if (find(settings.nqn) != nullptr) {
        return make_error(EEXIST, "subsystem {} already exists", settings.nqn);
    }
    if (subsystems_.size() >= max_subsystems_) {
        return make_error(ENOSPC, "at most {} subsystems (nvmf_set_max_subsystems)",
                          max_subsystems_);
    }
    // Identify Controller SN (20 bytes) and MN (40 bytes) are ASCII strings (NVMe Base 1.4
    // 1.5: "ASCII string", characters 20h to 7Eh).
    if (settings.serial_number.size() > 20 || !printable_ascii(settings.serial_number)) {
        return make_error(EINVAL, "serial_number: at most 20 printable ASCII characters");
    }
    if (settings.model_number.empty() || settings.model_number.size() > 40 ||
        !printable_ascii(settings.model_number)) {
        return make_error(EINVAL, "model_number: 1 to 40 printable ASCII characters");
    }
    if (settings.max_namespaces == 0) {
        settings.max_namespaces = SubsystemSettings{}.max_namespaces;
    }
    if (settings.max_namespaces > kMaxNamespaces) {
        return make_error(EINVAL, "max_namespaces {}: at most {}", settings.max_namespaces,
                          kMaxNamespaces);
    }
    if (settings.min_cntlid == 0 || settings.min_cntlid > settings.max_cntlid ||
        settings.max_cntlid > kMaxCntlid) {
        return make_error(EINVAL, "Invalid cntlid range [{}-{}]", settings.min_cntlid,
                          settings.max_cntlid);
    }
    LOG_INFO(target, "nvmf subsystem {} created (SN {}, MN {})", settings.nqn,
             settings.serial_number, settings.model_number);
    auto subsystem = std::make_unique<Subsystem>();
    subsystem->settings = std::move(settings);
    subsystems_.push_back(std::move(subsystem));
    return {};
}

Result<void> NvmfTarget::add_host(const std::string& nqn, const std::string& host) {
    Subsystem* subsystem = VHOSTD_TRY(existing(nqn));
    VHOSTD_TRY(check_nqn(host));
    if (std::find(subsystem->hosts.begin(), subsystem->hosts.end(), host) !=
        subsystem->hosts.end()) {
        return make_error(EEXIST, "host {} is already allowed on {}", host, nqn);
    }
    subsystem->hosts.push_back(host);
    return {};
}

Result<void> NvmfTarget::remove_host(const std::string& nqn, const std::string& host) {
    Subsystem* subsystem = VHOSTD_TRY(existing(nqn));
    if (std::erase(subsystem->hosts, host) == 0) {
        return make_error(ENOENT, "host {} is not allowed on {}", host, nqn);
    }
    return {};
}

Result<void> NvmfTarget::set_allow_any_host(const std::string& nqn, bool allow) {
    Subsystem* subsystem = VHOSTD_TRY(existing(nqn));
    subsystem->settings.allow_any_host = allow;
    return {};
}

void NvmfTarget::delete_subsystem(const std::string& nqn, Done done) {
    auto found = find_idle(nqn);
    if (!found) {
        done(std::unexpected(found.error()));
        return;
    }
    Subsystem* subsystem = *found;
    for (const Listener& listener : subsystem->listeners) {
        if (NvmfController* c = controller_of(listener); c != nullptr && c->in_use()) {
            done(make_error(EBUSY,
                            "subsystem {} is in use by a client on {}; remove the listener "
                            "first to detach it",
                            nqn, listener.controller));
            return;
        }
    }
    subsystem->busy = true;
    delete_next_listener(subsystem, std::move(done));
}

void NvmfTarget::delete_next_listener(Subsystem* subsystem, Done done) {
    if (subsystem->listeners.empty()) {
        erase(subsystem);
        done({});
        return;
    }
    const std::string name = subsystem->listeners.front().controller;
    context_.controllers.remove(
        name, [this, subsystem, done = std::move(done)](Result<void> removed) mutable {
            if (!removed && removed.error().code != ENODEV) {
                // A client attached meanwhile: what is left of the subsystem stays.
                subsystem->busy = false;
                done(std::unexpected(removed.error()));
                return;
            }
            subsystem->listeners.erase(subsystem->listeners.begin());
            delete_next_listener(subsystem, std::move(done));
        });
}

void NvmfTarget::erase(Subsystem* subsystem) {
    for (const NamespaceRecord& ns : subsystem->namespaces) {
        (void)context_.bdevs.release(ns.bdev_name, holder(*subsystem));
    }
    LOG_INFO(target, "nvmf subsystem {} deleted", subsystem->settings.nqn);
    std::erase_if(subsystems_, [&](const auto& s) { return s.get() == subsystem; });
}

// --- listeners ---

Result<uint16_t> NvmfTarget::allocate_cntlid(Subsystem& subsystem) const {
    const SubsystemSettings& s = subsystem.settings;
    const uint32_t range = uint32_t{s.max_cntlid} - s.min_cntlid + 1;
    uint16_t candidate = subsystem.next_cntlid == 0 ? s.min_cntlid : subsystem.next_cntlid;
    for (uint32_t tries = 0; tries < range; ++tries) {
        if (candidate < s.min_cntlid || candidate > s.max_cntlid) {
            candidate = s.min_cntlid;
        }
        const bool taken = std::any_of(subsystem.listeners.begin(), subsystem.listeners.end(),
                                       [&](const Listener& l) { return l.cntlid == candidate; });
        if (!taken) {
            subsystem.next_cntlid = static_cast<uint16_t>(candidate + 1);
            return candidate;
        }
        ++candidate;
    }
    return make_error(ENOSPC, "subsystem {}: no free controller ID in [{}-{}]", s.nqn, s.min_cntlid,
                      s.max_cntlid);
}

Result<void> NvmfTarget::add_listener(const std::string& nqn, const ListenerParams& params) {
    Subsystem* subsystem = VHOSTD_TRY(find_idle(nqn));
    if (!transport_) {
        return make_error(EINVAL, "Unable to find VFIOUSER transport: nvmf_create_transport first");
    }
    ListenAddress address = params.address;
    address.traddr = trim_traddr(address.traddr);
    if (address.traddr.empty()) {
        return make_error(EINVAL, "listen_address.traddr: a directory is required");
    }
    std::error_code ec;
    if (!std::filesystem::is_directory(address.traddr, ec)) {
        return make_error(ENOENT, "listen_address.traddr {}: no such directory", address.traddr);
    }
    // SPDK's VFIOUSER transport: the socket is TRADDR/cntrl.
    std::string socket = address.traddr == "/" ? "/cntrl" : address.traddr + "/cntrl";
    if (context_.controllers.find(socket) != nullptr) {
        return make_error(EEXIST, "Listener already exists on {}", socket);
    }
    const CpuMask cpumask =
        VHOSTD_TRY(controller::controller_cpumask(context_.reactors, params.cpumask));
    std::vector<reactor::Reactor*> reactors = context_.reactors.select(cpumask);
    if (reactors.empty()) {
        return make_error(EINVAL, "cpumask {} selects no reactor", cpumask.to_string());
    }
    const uint16_t cntlid = VHOSTD_TRY(allocate_cntlid(*subsystem));

    const SubsystemSettings& s = subsystem->settings;
    nvme::ControllerOptions options;
    options.serial_number = s.serial_number;
    options.model_number = s.model_number;
    options.subsystem_nqn = s.nqn;
    options.max_namespaces = s.max_namespaces;
    options.cntlid = cntlid;
    transport_->apply(options);
    std::unique_ptr<NvmfController> controller = VHOSTD_TRY(
        NvmfController::create(NvmfControllerConfig{.socket_path = socket,
                                                    .nqn = s.nqn,
                                                    .traddr = address.traddr,
                                                    .cpumask = cpumask,
                                                    .socket = context_.sockets,
                                                    .handshake_timeout = context_.handshake_timeout,
                                                    .options = options},
                               context_.control, std::move(reactors)));
    for (const NamespaceRecord& ns : subsystem->namespaces) {
        VHOSTD_TRY(add_to_controller(*controller, ns));
    }
    VHOSTD_TRY(context_.controllers.add(std::move(controller)));
    LOG_INFO(target, "nvmf subsystem {}: listening on {} (controller ID {}, {} doorbells)", nqn,
             socket, cntlid, transport_->disable_mappable_bar0 ? "trapped" : "mapped");
    subsystem->listeners.push_back(Listener{.address = std::move(address),
                                            .controller = std::move(socket),
                                            .cpumask = params.cpumask,
                                            .cntlid = cntlid});
    return {};
}

void NvmfTarget::remove_listener(const std::string& nqn, const ListenAddress& address, Done done) {
    auto found = find_idle(nqn);
    if (!found) {
        done(std::unexpected(found.error()));
        return;
    }
    Subsystem* subsystem = *found;
    // SPDK's VFIOUSER transport compares only the traddr.
    const std::string traddr = trim_traddr(address.traddr);
    auto listener = std::find_if(subsystem->listeners.begin(), subsystem->listeners.end(),
                                 [&](const Listener& l) { return l.address.traddr == traddr; });
    if (listener == subsystem->listeners.end()) {
        done(make_error(ENOENT, "subsystem {} has no listener on {}", nqn, traddr));
        return;
    }
    const std::string name = listener->controller;
    if (NvmfController* c = controller_of(*listener)) {
        c->detach();
    }
    subsystem->busy = true;
    context_.controllers.remove(
        name, [subsystem, name, done = std::move(done)](Result<void> removed) mutable {
            subsystem->busy = false;
            if (!removed && removed.error().code != ENODEV) {
                done(std::unexpected(removed.error()));
                return;
            }
            std::erase_if(subsystem->listeners,
                          [&](const Listener& l) { return l.controller == name; });
            done({});
        });
}

}  // namespace vhostd::targets::nvmf

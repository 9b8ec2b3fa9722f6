// NvmfTarget: vhostd's NVMe-oF target as SPDK's nvmf_* methods see it: one VFIOUSER
// transport, subsystems with namespaces over claimed bdevs, and listeners, each listener an
// NvmfController in the controller registry. A namespace added or removed reaches every
// listener's controller (which raises Namespace Attribute Changed to an attached driver).
//
// Removing a listener detaches its client (SPDK does the same: the listener is the client's
// way in); deleting a subsystem while a client is attached to any of its listeners is refused
// with EBUSY, like vhost_delete_controller, so that a running VM's disk is never deleted by
// accident (remove its listeners first to force it). Control reactor only.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "controller/controller_rpc.hpp"
#include "targets/nvmf/nvmf_controller.hpp"
#include "targets/nvmf/subsystem.hpp"
#include "targets/nvmf/transport.hpp"

namespace vhostd::targets::nvmf {

// nvmf_subsystem_add_ns's "namespace" object.
struct NamespaceParams {
    uint32_t nsid = 0;  // 0: the lowest free one
    std::string bdev_name;
    std::optional<std::string> uuid;
    std::optional<std::string> nguid;  // 32 hex digits (dashes allowed)
    std::optional<std::string> eui64;  // 16 hex digits (dashes allowed)
};

// nvmf_subsystem_add_listener's "listen_address" and vhostd's "cpumask".
struct ListenerParams {
    ListenAddress address;
    std::string cpumask;  // empty: every reactor (SPDK polls from every core too)
};

class NvmfTarget {
  public:
    static constexpr uint32_t kDefaultMaxSubsystems = 1024;  // SPDK's

    using Done = std::move_only_function<void(Result<void>)>;

    explicit NvmfTarget(controller::ControllerContext& context) : context_(context) {}
    NvmfTarget(const NvmfTarget&) = delete;
    NvmfTarget& operator=(const NvmfTarget&) = delete;

    // EEXIST if the transport exists already (SPDK: one per type).
    Result<void> create_transport(TransportOptions options);
    [[nodiscard]] nlohmann::json transports() const;
    // At most this many subsystems (SPDK's nvmf_set_max_subsystems); below the current count:
    // EINVAL.
    Result<void> set_max_subsystems(uint32_t max);

    Result<void> create_subsystem(SubsystemSettings settings);
    // The host list and allow_any_host (reported and saved; see Subsystem::hosts).
    Result<void> add_host(const std::string& nqn, const std::string& host);
    Result<void> remove_host(const std::string& nqn, const std::string& host);
    Result<void> set_allow_any_host(const std::string& nqn, bool allow);
    // EBUSY while a client is attached to one of its listeners.
    void delete_subsystem(const std::string& nqn, Done done);

    // Claims the bdev and adds the namespace to every listener's controller; returns the NSID.
    Result<uint32_t> add_namespace(const std::string& nqn, const NamespaceParams& params);
    // Detaches it from every controller (commands in flight finish), then releases the bdev.
    void remove_namespace(const std::string& nqn, uint32_t nsid, Done done);

    // Creates the listener's controller on TRADDR/cntrl with the subsystem's namespaces.
    Result<void> add_listener(const std::string& nqn, const ListenerParams& params);
    // Detaches an attached client, closes the socket and stops the controller.
    void remove_listener(const std::string& nqn, const ListenAddress& address, Done done);

    // --- listings (SPDK's shapes) ---
    [[nodiscard]] Result<nlohmann::json> subsystems(const std::optional<std::string>& nqn) const;
    [[nodiscard]] Result<nlohmann::json> listeners(const std::string& nqn) const;
    [[nodiscard]] Result<nlohmann::json> controllers(const std::string& nqn) const;
    [[nodiscard]] Result<nlohmann::json> qpairs(const std::string& nqn) const;
    [[nodiscard]] nlohmann::json stats() const;
    // save_config's "nvmf" subsystem: the transport, then (as SPDK) every subsystem, every
    // namespace, every listener.
    [[nodiscard]] nlohmann::json config_calls() const;

  private:
    [[nodiscard]] Subsystem* find(std::string_view nqn) const;
    // find() that fails with ENODEV when there is no such subsystem.
    [[nodiscard]] Result<Subsystem*> existing(std::string_view nqn) const;
    [[nodiscard]] Result<Subsystem*> find_idle(std::string_view nqn) const;
    [[nodiscard]] NvmfController* controller_of(const Listener& listener) const;
    [[nodiscard]] std::vector<NvmfController*> controllers_of(const Subsystem& subsystem) const;
    [[nodiscard]] std::string holder(const Subsystem& subsystem) const;
    [[nodiscard]] Result<uint16_t> allocate_cntlid(Subsystem& subsystem) const;
    [[nodiscard]] Result<void> add_to_controller(NvmfController& controller,
                                                 const NamespaceRecord& ns) const;
    // Removes the subsystem's listeners one after another, then finishes the deletion.
    void delete_next_listener(Subsystem* subsystem, Done done);
    void erase(Subsystem* subsystem);

    controller::ControllerContext& context_;
    std::optional<TransportOptions> transport_;
    uint32_t max_subsystems_ = kDefaultMaxSubsystems;
    std::vector<std::unique_ptr<Subsystem>> subsystems_;  // in creation order
};

}  // namespace vhostd::targets::nvmf

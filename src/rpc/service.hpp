// Service: what method handlers operate on. All of it belongs to the control reactor.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "block/bdev_registry.hpp"
#include "reactor/reactor.hpp"
#include "reactor/reactor_group.hpp"
#include "rpc/method_table.hpp"
#include "targets/vhost_targets.hpp"

namespace vhostd::rpc {

// How one kind of controller ("blk", "scsi": targets::ControllerInfo::type) is listed by
// vhost_get_controllers and saved by save_config. Each kind registers itself with its methods
// (register_vhost_methods for blk, register_scsi_methods for scsi).
struct ControllerKind {
    std::string subsystem;  // save_config's subsystem: "vhost_blk", "vhost_scsi"
    // vhost_get_controllers' "backend_specific" object, e.g. {"block": {...}}.
    std::function<nlohmann::json(const targets::VhostTargets::Entry&)> backend_specific;
    // The {"method", "params"} calls that recreate the controller, creation first.
    std::function<nlohmann::json(const targets::VhostTargets::Entry&)> config_calls;
};

// Extension points one method group fills for the listings of another.
struct ServiceHooks {
    std::map<std::string, ControllerKind, std::less<>> controller_kinds;
    // A bdev's QoS limits in SPDK's "assigned_rate_limits" shape (rw_ios_per_sec,
    // rw_mbytes_per_sec, r_mbytes_per_sec, w_mbytes_per_sec; 0 = off). Unset: all 0.
    std::function<nlohmann::json(const block::Bdev&)> rate_limits;
};

struct Service {
    reactor::Reactor& control;
    reactor::ReactorGroup& reactors;
    block::BdevRegistry& bdevs;
    targets::VhostTargets& targets;
    ServiceHooks hooks{};
};

void register_bdev_methods(MethodTable& table, Service& service);
// bdev_null_resize, bdev_uring_rescan.
void register_bdev_resize_methods(MethodTable& table, Service& service);
// rpc_get_methods, spdk_get_version, framework_get_reactors, log_*.
void register_app_methods(MethodTable& table, Service& service);
// save_config and the methods rpc.py's save_config uses (framework_get_subsystems,
// framework_get_config).
void register_config_methods(MethodTable& table, Service& service);
void register_vhost_methods(MethodTable& table, Service& service);
// Statistics, QoS and interrupt coalescing: bdev_get_iostat, bdev_set_qos_limit,
// vhost_controller_set_coalescing.
void register_stats_methods(MethodTable& table, Service& service);
// virtio-scsi controllers and their targets.
void register_scsi_methods(MethodTable& table, Service& service);
// SPDK tuning methods that have no meaning for vhostd (accepted with a warning, so that
// configs written by SPDK load).
void register_compat_methods(MethodTable& table);

// Every method vhostd knows.
inline void register_all_methods(MethodTable& table, Service& service) {
    register_bdev_methods(table, service);
    register_bdev_resize_methods(table, service);
    register_vhost_methods(table, service);
    register_stats_methods(table, service);
    register_scsi_methods(table, service);
    register_compat_methods(table);
    register_app_methods(table, service);
    register_config_methods(table, service);
}

}  // namespace vhostd::rpc

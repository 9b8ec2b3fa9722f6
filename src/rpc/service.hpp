// Service: what method handlers operate on. All of it belongs to the control reactor.
#pragma once

#include "block/bdev_registry.hpp"
#include "reactor/reactor.hpp"
#include "reactor/reactor_group.hpp"
#include "rpc/method_table.hpp"
#include "targets/vhost_targets.hpp"

namespace vhostd::rpc {

struct Service {
    reactor::Reactor& control;
    reactor::ReactorGroup& reactors;
    block::BdevRegistry& bdevs;
    targets::VhostTargets& targets;
};

void register_bdev_methods(MethodTable& table, Service& service);
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
    register_vhost_methods(table, service);
    register_stats_methods(table, service);
    register_scsi_methods(table, service);
    register_compat_methods(table);
}

}  // namespace vhostd::rpc

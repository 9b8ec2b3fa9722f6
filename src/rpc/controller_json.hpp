// How vhost controllers appear in vhost_get_controllers (SPDK's object) and in save_config.
// The parts that depend on the controller's kind come from Service::hooks.controller_kinds.
#pragma once

#include <nlohmann/json.hpp>

#include "rpc/service.hpp"

namespace vhostd::rpc {

// {"ctrlr", "cpumask", "delay_base_us", "iops_threshold", "socket", "sessions",
//  "backend_specific"}
nlohmann::json describe_controller(const Service& service,
                                   const targets::VhostTargets::Entry& entry);

// Appends vhost_controller_set_coalescing when the controller's settings are not the
// defaults, as SPDK's config writer does.
void append_coalescing_call(const targets::VhostTargets::Entry& entry, nlohmann::json& calls);

// The kind's registration, or nullptr for a kind nobody registered.
const ControllerKind* controller_kind(const Service& service,
                                      const targets::VhostTargets::Entry& entry);

}  // namespace vhostd::rpc

// The vhost family's methods (SPDK names), shared by every vhost-user controller kind:
// vhost_get_controllers, vhost_delete_controller (refused while a frontend is attached),
// vhost_controller_set_coalescing, and vhostd's vhost_get_controller_stats (per-queue
// counters, which SPDK has no method for).
#pragma once

#include <string_view>

#include "base/error.hpp"
#include "controller/controller_rpc.hpp"
#include "targets/vhost/vhost_controller.hpp"

namespace vhostd::targets {

// Registers the family's methods; called once from app, before the kinds.
void register_vhost_family(controller::ControllerContext& context);

// The vhost controller named `name`: ENODEV if there is none (or it is not a vhost one).
[[nodiscard]] Result<VhostController*> find_vhost(const controller::ControllerRegistry& controllers,
                                                  std::string_view name);

// The socket of controller `name` under the context's socket directory.
[[nodiscard]] VhostControllerConfig vhost_config(const controller::ControllerContext& context,
                                                 std::string name, CpuMask cpumask);

}  // namespace vhostd::targets

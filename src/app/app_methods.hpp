// Application methods (SPDK names and shapes): rpc_get_methods, spdk_get_version,
// framework_get_reactors and the log_* methods.
#pragma once

#include "controller/controller_registry.hpp"
#include "reactor/reactor_group.hpp"
#include "rpc/method_table.hpp"

namespace vhostd::app {

void register_app_methods(rpc::MethodTable& table, reactor::ReactorGroup& reactors,
                          const controller::ControllerRegistry& controllers);

}  // namespace vhostd::app

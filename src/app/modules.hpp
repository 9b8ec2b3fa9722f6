// The backend modules and controller kinds this vhostd is built with, registered explicitly:
// adding a backend or a controller kind is one folder plus one line in modules.cpp.
#pragma once

#include "block/bdev_rpc.hpp"
#include "controller/controller_rpc.hpp"

namespace vhostd::app {

void register_modules(block::ModuleContext& bdev_modules, controller::ControllerContext& kinds);

}  // namespace vhostd::app

// SPDK's nvmf_* methods for the VFIOUSER transport, and the "nvmf" save_config subsystem.
#pragma once

#include "controller/controller_rpc.hpp"

namespace vhostd::targets::nvmf {

// Registers the nvmf methods and the "nvmf" save_config subsystem (after "bdev"); called once
// from app.
void register_nvmf(controller::ControllerContext& context);

}  // namespace vhostd::targets::nvmf

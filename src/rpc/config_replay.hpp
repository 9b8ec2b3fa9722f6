// Config replay: loads an SPDK-format JSON config ({"subsystems": [{"subsystem", "config":
// [{"method", "params"}]}]}) by calling each method in order through the MethodTable, exactly
// as if the calls had arrived over RPC.
#pragma once

#include <string>

#include "base/error.hpp"
#include "reactor/reactor.hpp"
#include "rpc/method_table.hpp"

namespace vhostd::rpc {

// Runs on the control reactor's thread (it pumps the reactor while a call is pending).
// The error message names the file, the subsystem, the call and the field.
Result<void> replay_config_file(const std::string& path, const MethodTable& methods,
                                reactor::Reactor& control);

// The same for a config already parsed (`source` is used in messages).
Result<void> replay_config(const nlohmann::json& config, const std::string& source,
                           const MethodTable& methods, reactor::Reactor& control);

}  // namespace vhostd::rpc

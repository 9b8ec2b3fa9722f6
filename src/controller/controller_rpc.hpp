// What a controller kind registers itself with (from app, once) and the helpers every kind
// shares: the controller's reactors from a cpumask parameter, its save_config subsystem, and
// the listings of a family of controllers.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/cpu_mask.hpp"
#include "base/error.hpp"
#include "base/unix_listener.hpp"
#include "block/bdev_registry.hpp"
#include "controller/controller_registry.hpp"
#include "reactor/reactor.hpp"
#include "reactor/reactor_group.hpp"
#include "rpc/config_registry.hpp"
#include "rpc/method_table.hpp"

namespace vhostd::controller {

struct ControllerContext {
    rpc::MethodTable& methods;
    rpc::ConfigRegistry& config;
    ControllerRegistry& controllers;
    block::BdevRegistry& bdevs;
    reactor::Reactor& control;
    reactor::ReactorGroup& reactors;
    std::string socket_dir;     // controller sockets live here (-S)
    SocketFileOptions sockets;  // their group and mode
    // A frontend that has not finished its first negotiation by then is disconnected (0: no
    // deadline). --handshake-timeout-ms.
    std::chrono::milliseconds handshake_timeout{10'000};
};

// The save_config subsystem `kind` (after "bdev"): the config_calls() of every controller of
// that kind, in creation order.
void register_controller_kind(ControllerContext& context, const std::string& kind);

// A new controller's cpumask: empty means every reactor; otherwise it must lie within the
// reactor mask.
[[nodiscard]] Result<CpuMask> controller_cpumask(const reactor::ReactorGroup& reactors,
                                                 std::string_view text);

// The describe() of every controller of `family` (or only the one named `name`, ENODEV if it
// is not there), for the family's listing method.
[[nodiscard]] Result<nlohmann::json> list_family(const ControllerRegistry& controllers,
                                                 std::string_view family,
                                                 const std::optional<std::string>& name);

}  // namespace vhostd::controller

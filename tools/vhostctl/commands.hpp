// vhostctl's subcommands: one per RPC method, with rpc.py's argument names and positions.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "rpc_client.hpp"

namespace vhostctl {

// Global options (rpc.py's -s and -t).
struct Global {
    std::string socket = "/var/tmp/vhostd.sock";
    double timeout_s = 60.0;
};

// What the chosen subcommand does once the command line is parsed; returns the exit code.
using Action = std::function<int(const Global&)>;

// Adds every method subcommand; the one invoked stores its action in `action`.
void add_method_commands(CLI::App& app, Action& action);
// `vhostctl stat [-i interval] [-n count]`: live per-bdev numbers from bdev_get_iostat.
void add_stat_command(CLI::App& app, Action& action);

// Connects with the global options; prints the reason and returns nullopt on failure.
std::optional<RpcClient> connect(const Global& global);

}  // namespace vhostctl

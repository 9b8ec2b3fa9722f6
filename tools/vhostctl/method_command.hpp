// What every method subcommand is made of: a subcommand that calls one RPC method with the
// params built from its options and prints the result as rpc.py does.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.hpp"

namespace vhostctl {

using ParamsFn = std::function<nlohmann::json()>;

// Results print as rpc.py prints them: strings bare, everything else as indented JSON.
void print_result(const nlohmann::json& result);

// A subcommand that calls `method` with the params `params()` builds after parsing.
CLI::App* method(CLI::App& app, Action& action, const std::string& name, const std::string& help,
                 ParamsFn params = {});

// Adds "key": value to `params` when the option was given.
template <typename T>
void put(nlohmann::json& params, const char* key, const std::optional<T>& value) {
    if (value) {
        params[key] = *value;
    }
}

// The fault-injecting bdevs' subcommands (fault_commands.cpp).
void add_fault_commands(CLI::App& app, Action& action);
// The Ceph RBD bdevs' subcommands (rbd_commands.cpp).
void add_rbd_commands(CLI::App& app, Action& action);
// The nvmf_* subcommands (nvmf_commands.cpp).
void add_nvmf_commands(CLI::App& app, Action& action);

}  // namespace vhostctl

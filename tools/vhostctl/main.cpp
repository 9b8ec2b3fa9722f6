// vhostctl: manage a running vhostd through its JSON-RPC socket, the way SPDK's rpc.py does.
#include <exception>

#include <fmt/core.h>

#include <CLI/CLI.hpp>

#include "commands.hpp"

namespace {

int run(int argc, char** argv) {
    CLI::App app{
        "vhostctl: manage a running vhostd over JSON-RPC (rpc.py's methods and arguments)."};
    vhostctl::Global global;
    app.add_option("-s,--server", global.socket, "vhostd's RPC socket (vhostd -r)")
        ->capture_default_str();
    app.add_option("-t,--timeout", global.timeout_s, "seconds to wait for a response")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.require_subcommand(1);
    app.fallthrough();

    vhostctl::Action action;
    vhostctl::add_method_commands(app, action);
    vhostctl::add_stat_command(app, action);
    CLI11_PARSE(app, argc, argv);
    return action ? action(global) : 2;
}

}  // namespace

int main(int argc, char** argv) {
    // A bad argument is CLI11's to report; anything else thrown (out of memory, a JSON library
    // error) ends the command with a message rather than std::terminate.
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        fmt::print(stderr, "vhostctl: {}\n", e.what());
        return 1;
    }
}

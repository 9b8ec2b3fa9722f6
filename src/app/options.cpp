// Command-line parsing with CLI11.
#include "app/options.hpp"

#include <CLI/CLI.hpp>

#include "base/log.hpp"

namespace vhostd::app {

std::variant<Options, int> parse_options(int argc, char** argv) {
    Options options;
    std::string cpumask = "0x1";
    std::string poll = "adaptive";
    unsigned idle_us = 300;
    std::string socket_group;
    std::string socket_mode = "0660";
    unsigned handshake_ms = 10'000;

    CLI::App cli{
        "vhostd: a userspace vhost-user storage target.\n"
        "Without -c it serves a 64 MiB RAM disk as vhost-user-blk controller vhost.0."};
    cli.add_option("-c,--config", options.config_file, "SPDK-format JSON config to load")
        ->check(CLI::ExistingFile);
    cli.add_option("-S,--vhost-socket-path", options.socket_dir,
                   "directory for controller sockets (SOCKET_DIR/ctrlr)")
        ->capture_default_str()
        ->check(CLI::ExistingDirectory);
    cli.add_option("-m,--cpumask", cpumask, "cores to run I/O reactors on: 0x3 or [0,1]")
        ->capture_default_str();
    cli.add_option("--poll", poll, "reactor polling: always, adaptive (sleep when idle) or never")
        ->capture_default_str()
        ->check(CLI::IsMember({"always", "adaptive", "never"}));
    cli.add_option("--idle-threshold-us", idle_us,
                   "adaptive polling: idle time before a reactor sleeps")
        ->capture_default_str();
    cli.add_option("-r,--rpc-socket", options.rpc_socket,
                   "unix socket of the JSON-RPC server (rpc.py -s / vhostctl -s)")
        ->capture_default_str();
    cli.add_option("--metrics", options.metrics,
                   "serve Prometheus metrics over HTTP on HOST:PORT (e.g. 127.0.0.1:9190)");
    cli.add_option("--log-level", options.log_level, "error, warning, notice, info or debug")
        ->capture_default_str();
    cli.add_option("--socket-group", socket_group,
                   "group of the controller and RPC sockets (name or gid; default: vhostd's)");
    cli.add_option("--socket-mode", socket_mode, "mode of the controller and RPC sockets (octal)")
        ->capture_default_str();
    cli.add_option("--handshake-timeout-ms", handshake_ms,
                   "disconnect a vhost-user frontend that has not finished setting up a queue "
                   "(or sending a message) within this time; 0: never")
        ->capture_default_str();

    try {
        cli.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = cli.exit(e);
        return code == 0 ? 0 : 2;
    }

    auto mask = CpuMask::parse(cpumask);
    if (!mask) {
        fmt::print(stderr, "vhostd: -m {}: {}\n", cpumask, mask.error().message);
        return 2;
    }
    options.cpumask = *mask;
    if (!socket_group.empty()) {
        auto group = parse_group(socket_group);
        if (!group) {
            fmt::print(stderr, "vhostd: --socket-group {}: {}\n", socket_group,
                       group.error().message);
            return 2;
        }
        options.sockets.group = *group;
    }
    auto mode = parse_socket_mode(socket_mode);
    if (!mode) {
        fmt::print(stderr, "vhostd: --socket-mode: {}\n", mode.error().message);
        return 2;
    }
    options.sockets.mode = *mode;
    options.handshake_timeout = std::chrono::milliseconds(handshake_ms);
    const auto poll_mode = reactor::parse_poll_mode(poll);  // CLI11 checked the spelling
    if (!poll_mode) {
        fmt::print(stderr, "vhostd: --poll {}: unknown mode\n", poll);
        return 2;
    }
    options.poll_mode = *poll_mode;
    options.idle_threshold = std::chrono::microseconds(idle_us);
    if (!log::parse_level(options.log_level)) {
        fmt::print(stderr, "vhostd: --log-level {}: unknown level\n", options.log_level);
        return 2;
    }
    return options;
}

}  // namespace vhostd::app

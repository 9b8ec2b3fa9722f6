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
    options.poll_mode = *reactor::parse_poll_mode(poll);
    options.idle_threshold = std::chrono::microseconds(idle_us);
    if (!log::parse_level(options.log_level)) {
        fmt::print(stderr, "vhostd: --log-level {}: unknown level\n", options.log_level);
        return 2;
    }
    return options;
}

}  // namespace vhostd::app

// Command-line options of the vhostd daemon (SPDK's spellings where SPDK has the option).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <variant>

#include "base/cpu_mask.hpp"
#include "base/unix_listener.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::app {

struct Options {
    std::string config_file;               // -c: SPDK-format JSON config; empty: the default setup
    std::string socket_dir = ".";          // -S: where controller sockets are created
    CpuMask cpumask = CpuMask::single(0);  // -m
    reactor::PollMode poll_mode = reactor::PollMode::adaptive;
    std::chrono::microseconds idle_threshold{300};
    std::string log_level = "info";
    std::string metrics;  // --metrics HOST:PORT: Prometheus endpoint; empty: off
    std::string rpc_socket = "/var/tmp/vhostd.sock";  // -r: JSON-RPC listener (SPDK's -r)
    SocketFileOptions sockets;  // --socket-group, --socket-mode: of every socket file
    std::chrono::milliseconds handshake_timeout{10'000};  // --handshake-timeout-ms
};

// Parses argv. On --help or an error, returns the exit code to use instead.
std::variant<Options, int> parse_options(int argc, char** argv);

}  // namespace vhostd::app

// VhostdProcess: runs build/vhostd as a child process for integration tests: writes its
// config, waits for its sockets, stops it with SIGTERM and reports how it exited.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <sys/types.h>

#include <nlohmann/json.hpp>

namespace vhostd::testing {

class VhostdProcess {
  public:
    struct Options {
        nlohmann::json config;             // SPDK-format config; null: vhostd's default setup
        std::vector<std::string> args;     // extra command-line arguments
        std::vector<std::string> sockets;  // controller names to wait for
        std::string socket_dir;            // -S; empty: the process's own scratch directory
    };

    // A fresh scratch directory per process; sockets and files live there.
    explicit VhostdProcess(Options options);
    ~VhostdProcess();  // SIGKILLs the process if it is still running

    // Starts vhostd and waits until every socket in options.sockets and the RPC socket exist
    // (or it exits).
    [[nodiscard]] bool start();
    // Starts vhostd without waiting for anything (again, after it exited: a restart on the same
    // sockets and config).
    void launch();
    // SIGTERM, then waits; returns the exit status (or 128 + signal). -1 on timeout.
    int stop(std::chrono::seconds timeout = std::chrono::seconds(20));
    // SIGKILL (a crash: nothing is cleaned up), then waits; returns 128 + SIGKILL.
    int kill_hard();
    // Waits for the process to exit by itself; returns the exit status, -1 on timeout.
    int wait_exit(std::chrono::seconds timeout);
    [[nodiscard]] bool running();

    // Before start(): the config and the extra arguments (the scratch directory exists from
    // construction, so a config may name files in it).
    void set_config(nlohmann::json config) { options_.config = std::move(config); }
    void set_args(std::vector<std::string> args) { options_.args = std::move(args); }
    [[nodiscard]] pid_t pid() const { return pid_; }

    [[nodiscard]] const std::string& dir() const { return dir_; }
    [[nodiscard]] std::string socket(const std::string& ctrlr) const {
        return socket_dir() + "/" + ctrlr;
    }
    [[nodiscard]] std::string socket_dir() const {
        return options_.socket_dir.empty() ? dir_ : options_.socket_dir;
    }
    // The JSON-RPC socket: vhostd gets -r DIR/rpc.sock (unless the test passes its own -r), so
    // parallel tests never share /var/tmp/vhostd.sock.
    [[nodiscard]] std::string rpc_socket() const { return dir_ + "/rpc.sock"; }
    // What vhostd wrote to stdout and stderr so far.
    [[nodiscard]] std::string output() const;

    // Path of the vhostd binary under test (set by CMake).
    static std::string binary();

  private:
    [[nodiscard]] bool own_rpc_socket() const;

    Options options_;
    std::string dir_;
    pid_t pid_ = -1;
    int status_ = -1;
};

}  // namespace vhostd::testing

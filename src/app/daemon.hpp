// Daemon: the whole vhostd process: control reactor (main thread), I/O reactors, bdevs,
// controllers and methods; signal-driven orderly shutdown.
#pragma once

#include <memory>

#include "app/options.hpp"
#include "base/error.hpp"
#include "block/bdev_registry.hpp"
#include "block/bdev_rpc.hpp"
#include "controller/controller_registry.hpp"
#include "controller/controller_rpc.hpp"
#include "metrics/metrics_server.hpp"
#include "reactor/reactor.hpp"
#include "reactor/reactor_group.hpp"
#include "rpc/config_registry.hpp"
#include "rpc/method_table.hpp"
#include "rpc/server.hpp"

namespace vhostd::app {

class Daemon {
  public:
    // Builds everything and loads the config (or the default setup). Errors are meant to be
    // printed as one line by main().
    static Result<std::unique_ptr<Daemon>> create(const Options& options);
    ~Daemon();

    // Serves until SIGTERM/SIGINT, then stops accepting, drains in-flight I/O, removes the
    // sockets. Returns the process exit code.
    int run();

  private:
    explicit Daemon(const Options& options);
    Result<void> start();
    Result<void> load_default_setup();
    Result<void> start_metrics();
    void print_attach_hints() const;
    void begin_shutdown();

    Options options_;
    std::unique_ptr<reactor::Reactor> control_;
    std::unique_ptr<reactor::ReactorGroup> reactors_;
    rpc::MethodTable methods_;
    rpc::ConfigRegistry config_;
    block::BdevRegistry bdevs_;
    // Declared after bdevs_: controllers hold claims on bdevs and go first.
    controller::ControllerRegistry controllers_;
    std::unique_ptr<block::ModuleContext> bdev_modules_;
    std::unique_ptr<controller::ControllerContext> controller_kinds_;
    std::unique_ptr<rpc::Server> rpc_server_;
    std::unique_ptr<metrics::MetricsServer> metrics_;  // --metrics
    UniqueFd signal_fd_;
    bool shutting_down_ = false;
    int exit_code_ = 0;
};

}  // namespace vhostd::app

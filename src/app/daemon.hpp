// Daemon: the whole vhostd process: control reactor (main thread), I/O reactors, bdevs,
// controllers and methods; signal-driven orderly shutdown.
#pragma once

#include <memory>

#include "app/options.hpp"
#include "base/error.hpp"
#include "block/bdev_registry.hpp"
#include "metrics/metrics_server.hpp"
#include "reactor/reactor.hpp"
#include "reactor/reactor_group.hpp"
#include "rpc/method_table.hpp"
#include "rpc/server.hpp"
#include "rpc/service.hpp"
#include "targets/vhost_targets.hpp"

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
    block::BdevRegistry bdevs_;
    std::unique_ptr<targets::VhostTargets> targets_;
    std::unique_ptr<rpc::Service> service_;
    rpc::MethodTable methods_;
    std::unique_ptr<rpc::Server> rpc_server_;
    std::unique_ptr<metrics::MetricsServer> metrics_;  // --metrics
    UniqueFd signal_fd_;
    bool shutting_down_ = false;
    int exit_code_ = 0;
};

}  // namespace vhostd::app

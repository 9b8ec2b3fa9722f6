// Daemon: start-up, default setup, signal handling and orderly shutdown.
#include "app/daemon.hpp"

#include <climits>
#include <cstdlib>

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "app/app_methods.hpp"
#include "app/modules.hpp"
#include "base/log.hpp"
#include "rpc/config_replay.hpp"

namespace vhostd::app {
namespace {

constexpr unsigned kControlReactorId = 1000;
constexpr auto kShutdownDeadline = std::chrono::seconds(30);

std::string absolute(const std::string& path) {
    char buf[PATH_MAX];
    return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

}  // namespace

Result<std::unique_ptr<Daemon>> Daemon::create(const Options& options) {
    std::unique_ptr<Daemon> daemon(new Daemon(options));
    VHOSTD_TRY(daemon->start());
    return daemon;
}

Daemon::Daemon(const Options& options) : options_(options) {
    options_.socket_dir = absolute(options_.socket_dir);
}

Daemon::~Daemon() {
    if (reactors_) {
        reactors_->stop();
    }
}

Result<void> Daemon::start() {
    const auto level = log::parse_level(options_.log_level);
    if (!level) {
        return make_error(EINVAL, "unknown log level {}", options_.log_level);
    }
    log::set_level(*level);

    // SIGTERM/SIGINT arrive through a signalfd on the control reactor; block them before any
    // thread starts so that every reactor thread inherits the mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    signal_fd_.reset(::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!signal_fd_) {
        return errno_error("signalfd");
    }

    control_ = VHOSTD_TRY(reactor::Reactor::create(
        kControlReactorId, reactor::ReactorOptions{reactor::PollMode::never, {}, -1}));
    reactors_ = VHOSTD_TRY(reactor::ReactorGroup::create(
        options_.cpumask,
        reactor::ReactorOptions{options_.poll_mode, options_.idle_threshold, -1}));
    // Every method vhostd has: the bdev layer's ("bdev" is save_config's first subsystem),
    // each backend module's and controller kind's (app/modules.cpp), then the framework's.
    block::register_bdev_methods(methods_, config_, bdevs_);
    bdev_modules_ = std::make_unique<block::ModuleContext>(
        block::ModuleContext{.methods = methods_, .bdevs = bdevs_, .control = *control_});
    controller_kinds_ = std::make_unique<controller::ControllerContext>(
        controller::ControllerContext{.methods = methods_,
                                      .config = config_,
                                      .controllers = controllers_,
                                      .bdevs = bdevs_,
                                      .control = *control_,
                                      .reactors = *reactors_,
                                      .socket_dir = options_.socket_dir,
                                      .sockets = options_.sockets,
                                      .handshake_timeout = options_.handshake_timeout});
    register_modules(*bdev_modules_, *controller_kinds_);
    rpc::register_compat_methods(methods_);
    rpc::register_config_methods(methods_, config_);
    register_app_methods(methods_, *reactors_, controllers_);

    VHOSTD_TRY(control_->watch_fd(signal_fd_.get(), EPOLLIN, [this](uint32_t) {
        signalfd_siginfo info{};
        while (::read(signal_fd_.get(), &info, sizeof(info)) == sizeof(info)) {
            LOG_INFO(app, "received signal {}", info.ssi_signo);
            begin_shutdown();
        }
    }));

    reactors_->start();
    if (options_.config_file.empty()) {
        VHOSTD_TRY(load_default_setup());
        print_attach_hints();
    } else {
        VHOSTD_TRY(rpc::replay_config_file(options_.config_file, methods_, *control_));
    }
    // After the config: RPC clients see the configured state, never a half-loaded one.
    rpc_server_ = VHOSTD_TRY(rpc::Server::create(
        *control_, methods_,
        rpc::Server::Options{.path = options_.rpc_socket, .socket = options_.sockets}));
    VHOSTD_TRY(start_metrics());
    LOG_INFO(app, "vhostd ready: {} reactor(s) on cpumask {}, poll mode {}, sockets in {}",
             reactors_->size(), options_.cpumask.to_string(),
             reactor::to_string(options_.poll_mode), options_.socket_dir);
    return {};
}

Result<void> Daemon::load_default_setup() {
    const nlohmann::json config = {
        {"subsystems",
         {{{"subsystem", "bdev"},
           {"config",
            {{{"method", "bdev_malloc_create"},
              {"params", {{"name", "Malloc0"}, {"num_blocks", 131072}, {"block_size", 512}}}}}}},
          {{"subsystem", "vhost_blk"},
           {"config",
            {{{"method", "vhost_create_blk_controller"},
              {"params", {{"ctrlr", "vhost.0"}, {"dev_name", "Malloc0"}}}}}}}}}};
    return rpc::replay_config(config, "default setup", methods_, *control_);
}

Result<void> Daemon::start_metrics() {
    if (options_.metrics.empty()) {
        return {};
    }
    const metrics::ListenAddress address =
        VHOSTD_TRY(metrics::parse_listen_address(options_.metrics));
    metrics_ = VHOSTD_TRY(metrics::MetricsServer::start(address, *control_, [this] {
        return metrics::take_snapshot(bdevs_, controllers_, *reactors_);
    }));
    return {};
}

void Daemon::print_attach_hints() const {
    for (const controller::Controller* c : controllers_.list()) {
        if (c->kind() != "vhost_blk") {
            continue;
        }
        const nlohmann::json info = c->describe();
        const std::string path = info.value("socket", "");
        fmt::print(
            "vhostd: vhost-user-blk controller {} (bdev {}) listening on {}\n"
            "Attach a QEMU guest with:\n"
            "  qemu-system-x86_64 -machine q35,memory-backend=mem \\\n"
            "    -object memory-backend-memfd,id=mem,size=1G,share=on -m 1G \\\n"
            "    -chardev socket,id=char0,path={} \\\n"
            "    -device vhost-user-blk-pci,chardev=char0,num-queues={} ...\n",
            c->name(), info.at("backend_specific").at("block").value("bdev", ""), path, path,
            reactors_->size());
    }
    std::fflush(stdout);
}

void Daemon::begin_shutdown() {
    if (shutting_down_) {
        LOG_WARN(app, "shutdown already in progress");
        return;
    }
    shutting_down_ = true;
    LOG_INFO(app, "shutting down: no new connections, draining in-flight I/O");
    rpc_server_.reset();  // no new calls; answers still pending are dropped with the clients
    // In-flight I/O normally drains in milliseconds; a backend that never answers must not
    // keep the process alive forever.
    control_->add_timer(kShutdownDeadline, [this] {
        LOG_ERROR(app, "in-flight I/O did not drain within {} s; exiting anyway",
                  kShutdownDeadline.count());
        exit_code_ = 1;
        control_->request_stop();
    });
    controllers_.shutdown_all([this] { control_->request_stop(); });
}

int Daemon::run() {
    control_->run();
    reactors_->stop();
    LOG_INFO(app, "vhostd stopped");
    return exit_code_;
}

}  // namespace vhostd::app

// NvmfController: the NVMe controller and its vfio-user server, listing and shutdown.
#include "targets/nvmf/nvmf_controller.hpp"

#include "base/log.hpp"

namespace vhostd::targets::nvmf {

void discard_nvme_controller(std::unique_ptr<nvme::Controller> nvme, reactor::Reactor& control) {
    nvme::Controller* raw = nvme.get();
    auto owned = std::make_shared<std::unique_ptr<nvme::Controller>>(std::move(nvme));
    raw->shutdown([owned, &control] {
        // Destroyed from a fresh message, not inside its own shutdown's callback.
        control.post([owned] { owned->reset(); });
    });
}

Result<std::unique_ptr<NvmfController>> NvmfController::create(
    NvmfControllerConfig config, reactor::Reactor& control,
    std::vector<reactor::Reactor*> reactors) {
    std::unique_ptr<nvme::Controller> nvme =
        VHOSTD_TRY(nvme::Controller::create(control, std::move(reactors), config.options));
    std::unique_ptr<NvmfController> controller(
        new NvmfController(std::move(config), std::move(nvme), control));
    auto server = vfio_user::Server::create(
        control, controller->config_.socket_path, *controller->nvme_,
        vfio_user::ServerOptions{.name = controller->config_.socket_path,
                                 .socket = controller->config_.socket,
                                 .handshake_timeout = controller->config_.handshake_timeout});
    if (!server) {
        // The destructor stops the NVMe controller's reactors' part in the background.
        return std::unexpected(server.error());
    }
    controller->server_ = std::move(*server);
    return controller;
}

NvmfController::~NvmfController() {
    if (!shut_down_ && nvme_) {
        server_.reset();  // nothing is connected: a server that served is shut down first
        discard_nvme_controller(std::move(nvme_), control_);
    }
}

nlohmann::json NvmfController::describe() const {
    const nvme::ControllerState state = nvme_->state();
    nlohmann::json namespaces = nlohmann::json::array();
    for (const nvme::NamespaceInfo& ns : nvme_->namespaces()) {
        namespaces.push_back({{"nsid", ns.nsid},
                              {"bdev_name", ns.bdev_name},
                              {"uuid", ns.uuid},
                              {"active", ns.active}});
    }
    const nvme::ControllerOptions& options = nvme_->options();
    return {
        {"name", name()},
        {"nqn", config_.nqn},
        {"traddr", config_.traddr},
        {"socket", config_.socket_path},
        {"cpumask", cpumask().to_string()},
        {"cntlid", options.cntlid},
        {"doorbell_mode", nvme::to_string(options.doorbell_mode)},
        {"shadow_doorbells", options.shadow_doorbells},
        {"connected", connected()},
        {"connections", server_ ? server_->connections() : 0},
        {"state",
         {{"enabled", state.enabled},
          {"ready", state.ready},
          {"fatal", state.fatal},
          {"shutdown_status", state.shutdown_status},
          {"shadow_doorbells_active", state.shadow_doorbells_active},
          {"io_submission_queues", state.io_submission_queues},
          {"io_completion_queues", state.io_completion_queues}}},
        {"namespaces", std::move(namespaces)},
    };
}

nlohmann::json NvmfController::config_calls() const {
    return nlohmann::json::array();
}

std::vector<queue::QueueCounters> NvmfController::queue_counters() const {
    return nvme_->queue_stats();
}

std::vector<nvme::PollGroupTotals> NvmfController::poll_group_totals() const {
    return nvme_->poll_group_totals();
}

void NvmfController::shutdown(std::move_only_function<void()> done) {
    auto stop_nvme = [this](std::move_only_function<void()> finish) {
        if (shut_down_) {
            finish();
            return;
        }
        shut_down_ = true;
        nvme_->shutdown(std::move(finish));
    };
    if (!server_) {
        stop_nvme(std::move(done));
        return;
    }
    // The server resets the function (the NVMe controller) under a connected client before it
    // closes the connection; only then are the queues' reactors let go.
    server_->shutdown([this, stop_nvme, done = std::move(done)]() mutable {
        server_.reset();
        LOG_INFO(target, "nvmf listener {} closed", name());
        stop_nvme(std::move(done));
    });
}

}  // namespace vhostd::targets::nvmf

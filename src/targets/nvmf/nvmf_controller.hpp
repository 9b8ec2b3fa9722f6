// NvmfController: one listener of an NVMe-oF subsystem over the VFIOUSER transport, as a
// controller::Controller: an emulated NVMe controller (nvme::Controller, configured from the
// transport and the subsystem) served by a vfio-user server on TRADDR/cntrl, on the reactors of
// its cpumask. Its name is the socket path (unique by construction, and what a client connects
// to); kind and family are "nvmf", so vhost listings never show it. The subsystem's namespaces
// are added to it by the nvmf target, which also owns the bdev claims and writes save_config.
// Control reactor only.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/cpu_mask.hpp"
#include "base/unix_listener.hpp"
#include "controller/controller.hpp"
#include "nvme/controller.hpp"
#include "reactor/reactor.hpp"
#include "vfio_user/server.hpp"

namespace vhostd::targets::nvmf {

struct NvmfControllerConfig {
    std::string socket_path;  // TRADDR/cntrl; also the controller's name
    std::string nqn;          // the subsystem's
    std::string traddr;
    CpuMask cpumask;
    SocketFileOptions socket;
    std::chrono::milliseconds handshake_timeout{10'000};
    nvme::ControllerOptions options;
};

class NvmfController final : public controller::Controller {
  public:
    // Creates the NVMe controller on `reactors` (at least one) and opens the socket. The
    // namespaces are added afterwards (add_namespace), before a client can have enabled it.
    static Result<std::unique_ptr<NvmfController>> create(NvmfControllerConfig config,
                                                          reactor::Reactor& control,
                                                          std::vector<reactor::Reactor*> reactors);
    // After shutdown() has called back (the registry's order); otherwise the NVMe controller
    // is shut down in the background and destroyed when it has stopped.
    ~NvmfController() override;

    // --- controller::Controller ---
    [[nodiscard]] const std::string& name() const override { return config_.socket_path; }
    [[nodiscard]] std::string_view kind() const override { return "nvmf"; }
    [[nodiscard]] std::string_view family() const override { return "nvmf"; }
    [[nodiscard]] const CpuMask& cpumask() const override { return config_.cpumask; }
    // A client is attached, unless the listener is being removed (which detaches it).
    [[nodiscard]] bool in_use() const override {
        return !detaching_ && server_ && server_->connected();
    }
    // {"name", "nqn", "traddr", "socket", "cpumask", "cntlid", "doorbell_mode",
    //  "shadow_doorbells", "connected", "connections", "state", "namespaces"}
    [[nodiscard]] nlohmann::json describe() const override;
    // Empty: the nvmf target writes the subsystem's calls (save_config's "nvmf").
    [[nodiscard]] nlohmann::json config_calls() const override;
    // Per submission queue (admin queue 0), those that exist now.
    [[nodiscard]] std::vector<queue::QueueCounters> queue_counters() const override;
    // Per reactor, since the controller was created (nvmf_get_stats' cumulative counts).
    [[nodiscard]] std::vector<nvme::PollGroupTotals> poll_group_totals() const;
    // Closes the socket (a connected client's device is reset first), then stops the queues.
    void shutdown(std::move_only_function<void()> done) override;
    void release() override {}  // the subsystem holds the bdev claims

    // --- nvmf ---
    [[nodiscard]] nvme::Controller& nvme() { return *nvme_; }
    [[nodiscard]] const nvme::Controller& nvme() const { return *nvme_; }
    [[nodiscard]] bool connected() const { return server_ && server_->connected(); }
    [[nodiscard]] const NvmfControllerConfig& config() const { return config_; }
    // The listener is being removed: the registry may shut it down with a client attached.
    void detach() { detaching_ = true; }

  private:
    NvmfController(NvmfControllerConfig config, std::unique_ptr<nvme::Controller> nvme,
                   reactor::Reactor& control)
        : config_(std::move(config)), nvme_(std::move(nvme)), control_(control) {}

    NvmfControllerConfig config_;
    std::unique_ptr<nvme::Controller> nvme_;
    std::unique_ptr<vfio_user::Server> server_;
    reactor::Reactor& control_;
    bool detaching_ = false;
    bool shut_down_ = false;
};

// An NVMe controller that never served (its server could not be created, or its owner went
// away without shutting it down) is stopped in the background and destroyed once stopped.
void discard_nvme_controller(std::unique_ptr<nvme::Controller> nvme, reactor::Reactor& control);

}  // namespace vhostd::targets::nvmf

// VhostController: what the vhost-user controller kinds (SPDK's "ctrlr": vhost-user-blk,
// vhost-user-scsi) share: a listening socket, the virtio device behind it, the placement of its
// queues on I/O reactors, interrupt coalescing, and the vhost family's listing (SPDK's
// vhost_get_controllers object). It implements the transport's QueueControl: queues are
// created, stopped and rewired by messages to the reactor that owns them, and results come
// back to the control reactor. A kind derives from it and adds its device's part.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/cpu_mask.hpp"
#include "base/unix_listener.hpp"
#include "controller/controller.hpp"
#include "queue/queue_stats.hpp"
#include "reactor/reactor.hpp"
#include "vhost_user/server.hpp"
#include "virtio/device.hpp"
#include "virtio/queue_control.hpp"

namespace vhostd::targets {

// Interrupt coalescing (SPDK's vhost_controller_set_coalescing): when a queue completes more
// than iops_threshold requests per second, its call eventfd is signalled at most once every
// delay_base_us. delay_base_us == 0 turns coalescing off.
struct Coalescing {
    uint32_t delay_base_us = 0;
    uint32_t iops_threshold = 60000;
};

struct VhostControllerConfig {
    std::string name;          // ctrlr
    std::string socket_path;   // SOCKET_DIR/ctrlr
    CpuMask cpumask;           // reactors serving this controller's queues
    SocketFileOptions socket;  // group and mode of the socket file
    std::chrono::milliseconds handshake_timeout{10'000};  // vhost_user::Server::Options
};

class VhostController : public controller::Controller, public virtio::QueueControl {
  public:
    ~VhostController() override;

    // --- controller::Controller ---
    [[nodiscard]] const std::string& name() const final { return config_.name; }
    [[nodiscard]] std::string_view family() const final { return "vhost"; }
    [[nodiscard]] const CpuMask& cpumask() const final { return config_.cpumask; }
    [[nodiscard]] bool in_use() const final { return server_ && server_->connected(); }
    // {"ctrlr", "cpumask", "delay_base_us", "iops_threshold", "socket", "sessions",
    //  "backend_specific"}
    [[nodiscard]] nlohmann::json describe() const final;
    // The kind's creation calls, then vhost_controller_set_coalescing when not the default.
    [[nodiscard]] nlohmann::json config_calls() const final;
    [[nodiscard]] std::vector<queue::QueueCounters> queue_counters() const final;
    void shutdown(std::move_only_function<void()> done) final;

    // --- vhost ---
    [[nodiscard]] const std::string& socket_path() const { return config_.socket_path; }
    [[nodiscard]] virtio::Device& device() { return *device_; }
    [[nodiscard]] const Coalescing& coalescing() const { return coalescing_; }
    // Stored, and applied to every running queue on its reactor (and to queues started later).
    void set_coalescing(const Coalescing& coalescing);
    // The device's configuration changed (e.g. a resized disk): the connected frontend is told
    // if it can be; otherwise it reads the new configuration when it next starts the device.
    void notify_config_changed();
    // The reactor serving queue `index`.
    [[nodiscard]] const reactor::Reactor& queue_reactor(uint16_t index) const {
        return *queues_[index].reactor;
    }

    // --- virtio::QueueControl ---
    void start_queue(virtio::VirtqueueConfig config) override;
    void stop_queue(uint16_t index, StoppedCallback done) override;
    void set_call_fd(uint16_t index, UniqueFd call) override;
    void update_memory(uint16_t index, guest_memory::GuestMemory::Ptr memory, bool drain_old,
                       std::move_only_function<void()> done) override;

  protected:
    // `reactors`: the I/O reactors of `config.cpumask`, in core order; queue i runs on
    // reactors[i % reactors.size()]. Runs on (and must be destroyed on) `control`.
    VhostController(VhostControllerConfig config, std::shared_ptr<virtio::Device> device,
                    reactor::Reactor& control, std::vector<reactor::Reactor*> reactors);
    // Opens the socket; the kind's factory calls it once the controller is complete.
    [[nodiscard]] Result<void> listen();

    // The kind's part of describe(): SPDK's "backend_specific" object.
    [[nodiscard]] virtual nlohmann::json backend_specific() const = 0;
    // The kind's calls that recreate the controller (creation first).
    [[nodiscard]] virtual nlohmann::json create_calls() const = 0;

    [[nodiscard]] reactor::Reactor& control() { return control_; }

  private:
    // A queue's handler lives on, and is only touched by, its reactor.
    struct QueueSlot {
        reactor::Reactor* reactor = nullptr;
        std::unique_ptr<virtio::QueueHandler> handler;
        uint32_t failed_base = 0;  // ring base of a queue that failed to start
        // Written by the queue's handlers on `reactor`; kept across queue restarts.
        std::unique_ptr<queue::QueueStats> stats = std::make_unique<queue::QueueStats>();
    };

    void report_broken(uint16_t index);

    VhostControllerConfig config_;
    Coalescing coalescing_;
    std::shared_ptr<virtio::Device> device_;
    reactor::Reactor& control_;
    std::vector<QueueSlot> queues_;
    std::unique_ptr<vhost_user::Server> server_;
    // Messages that come back to the control reactor check this first: the controller may
    // have been deleted in between.
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace vhostd::targets

// VhostController: one vhost-user controller (SPDK's "ctrlr"): a listening socket, the virtio
// device behind it, and the placement of its queues on I/O reactors. It implements the
// transport's QueueControl: queues are created, stopped and rewired by messages to the reactor
// that owns them, and results come back to the control reactor.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/cpu_mask.hpp"
#include "reactor/reactor.hpp"
#include "vhost_user/queue_control.hpp"
#include "vhost_user/server.hpp"
#include "virtio/device.hpp"
#include "virtio/queue_stats.hpp"

namespace vhostd::targets {

// Interrupt coalescing (SPDK's vhost_controller_set_coalescing): when a queue completes more
// than iops_threshold requests per second, its call eventfd is signalled at most once every
// delay_base_us. delay_base_us == 0 turns coalescing off.
struct Coalescing {
    uint32_t delay_base_us = 0;
    uint32_t iops_threshold = 60000;
};

// One queue's counters as read from any thread (relaxed loads: a snapshot, not a transaction).
struct QueueCounters {
    uint16_t index = 0;
    unsigned reactor = 0;  // id of the reactor serving the queue
    uint64_t requests = 0;
    uint64_t completions = 0;
    uint64_t inflight = 0;
    uint64_t busy_polls = 0;
    uint64_t idle_polls = 0;
    uint64_t calls = 0;           // interrupts sent to the guest
    uint64_t calls_deferred = 0;  // interrupts postponed by coalescing
};

struct ControllerConfig {
    std::string name;         // ctrlr
    std::string socket_path;  // SOCKET_DIR/ctrlr
    CpuMask cpumask;          // reactors serving this controller's queues
};

class VhostController final : public vhost_user::QueueControl {
  public:
    // `reactors`: the I/O reactors of `config.cpumask`, in core order; queue i runs on
    // reactors[i % reactors.size()]. Runs on (and must be destroyed on) `control`.
    static Result<std::unique_ptr<VhostController>> create(ControllerConfig config,
                                                           std::shared_ptr<virtio::Device> device,
                                                           reactor::Reactor& control,
                                                           std::vector<reactor::Reactor*> reactors);
    ~VhostController() override;

    [[nodiscard]] const std::string& name() const { return config_.name; }
    [[nodiscard]] const std::string& socket_path() const { return config_.socket_path; }
    [[nodiscard]] const CpuMask& cpumask() const { return config_.cpumask; }
    [[nodiscard]] virtio::Device& device() { return *device_; }
    [[nodiscard]] bool connected() const { return server_ && server_->connected(); }
    [[nodiscard]] const Coalescing& coalescing() const { return coalescing_; }
    // Stored, and applied to every running queue on its reactor (and to queues started later).
    void set_coalescing(const Coalescing& coalescing);
    // The device's configuration changed (e.g. a resized disk): the connected frontend is told
    // if it can be; otherwise it reads the new configuration when it next starts the device.
    void notify_config_changed();
    // Per-queue counters since the controller was created; any thread.
    [[nodiscard]] std::vector<QueueCounters> queue_counters() const;
    // The reactor serving queue `index`.
    [[nodiscard]] const reactor::Reactor& queue_reactor(uint16_t index) const {
        return *queues_[index].reactor;
    }

    // Stops accepting, removes the socket, stops every queue after its in-flight requests,
    // then calls `done` on the control reactor.
    void shutdown(std::move_only_function<void()> done);

    // vhost_user::QueueControl
    void start_queue(virtio::VirtqueueConfig config) override;
    void stop_queue(uint16_t index, StoppedCallback done) override;
    void set_call_fd(uint16_t index, UniqueFd call) override;

  private:
    // A queue's handler lives on, and is only touched by, its reactor.
    struct QueueSlot {
        reactor::Reactor* reactor = nullptr;
        std::unique_ptr<virtio::QueueHandler> handler;
        uint16_t failed_base = 0;  // last_avail_idx of a queue that failed to start
        // Written by the queue's handlers on `reactor`; kept across queue restarts.
        std::unique_ptr<virtio::QueueStats> stats = std::make_unique<virtio::QueueStats>();
    };

    VhostController(ControllerConfig config, std::shared_ptr<virtio::Device> device,
                    reactor::Reactor& control, std::vector<reactor::Reactor*> reactors);
    void report_broken(uint16_t index);

    ControllerConfig config_;
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

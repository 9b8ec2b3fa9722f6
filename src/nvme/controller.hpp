// Controller: an emulated NVMe controller (NVMe 1.4 over PCIe) as a pci::Function. BAR0 holds
// the registers and, at 0x1000, the doorbell page (a shared memory area in mapped mode, written
// through messages in trapped mode); BAR4 and BAR5 hold the MSI-X table and PBA. Admin
// commands run here, on the control reactor; each I/O queue pair runs on one of the reactors
// the controller is given (queue i on reactor i mod n), the admin queue on the first.
//
// Everything public runs on the control reactor. The API the RPC layer wires to SPDK's nvmf_*
// methods: create with options, add/remove namespaces, queue statistics, state, shutdown.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "block/bdev_subscription.hpp"
#include "nvme/async_events.hpp"
#include "nvme/core.hpp"
#include "nvme/features.hpp"
#include "nvme/log_pages.hpp"
#include "nvme/namespace.hpp"
#include "nvme/options.hpp"
#include "nvme/registers.hpp"
#include "nvme/shard.hpp"
#include "pci/endpoint.hpp"
#include "pci/function.hpp"
#include "queue/queue_stats.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::nvme {

struct NamespaceInfo {
    uint32_t nsid = 0;
    std::string bdev_name;
    std::string uuid;
    bool active = false;  // attached on every reactor and visible to the driver
};

struct ControllerState {
    bool enabled = false;          // CC.EN
    bool ready = false;            // CSTS.RDY
    bool fatal = false;            // CSTS.CFS
    uint32_t shutdown_status = 0;  // CSTS.SHST
    bool shadow_doorbells_active = false;
    uint16_t io_submission_queues = 0;
    uint16_t io_completion_queues = 0;
};

// What one reactor (a poll group, in SPDK's words) has served over the controller's life,
// across resets and clients: queue pairs created there and I/O commands completed there.
struct PollGroupTotals {
    unsigned reactor = 0;  // the reactor's id
    uint64_t admin_qpairs = 0;
    uint64_t io_qpairs = 0;
    uint64_t io_completions = 0;
};

class Controller final : public pci::Function, private ControlLink {
  public:
    // BAR0: registers and doorbells.
    static constexpr uint64_t kBar0Size = 0x4000;  // NVMe 1.0e 2.1.10: MLBAR bits 31:14

    // `reactors`: where queues run (at least one), each outliving the controller.
    static Result<std::unique_ptr<Controller>> create(reactor::Reactor& control,
                                                      std::vector<reactor::Reactor*> reactors,
                                                      const ControllerOptions& options);
    // After shutdown() has called back.
    ~Controller() override;

    // --- pci::Function ---
    [[nodiscard]] pci::RegionInfo region_info(uint32_t index) const override;
    Result<void> read(uint32_t index, uint64_t offset, std::span<uint8_t> out) override;
    Result<void> write(uint32_t index, uint64_t offset, std::span<const uint8_t> data) override;
    [[nodiscard]] pci::IrqInfo irq_info(uint32_t index) const override;
    Result<void> set_irqs(pci::IrqSet set) override;
    void set_memory(guest_memory::GuestMemory::Ptr memory,
                    std::move_only_function<void()> done) override;
    void reset(std::move_only_function<void()> done) override;

    // --- management ---
    [[nodiscard]] const ControllerOptions& options() const { return core_->options; }
    // Adds a namespace (NSID 0: the lowest free one) and returns its NSID; it becomes active
    // once every reactor has opened it, which raises Namespace Attribute Changed.
    Result<uint32_t> add_namespace(const NamespaceOptions& options);
    // Detaches the namespace on every reactor (commands in flight finish first), then raises
    // Namespace Attribute Changed and calls `done`.
    void remove_namespace(uint32_t nsid, std::move_only_function<void(Result<void>)> done);
    [[nodiscard]] std::vector<NamespaceInfo> namespaces() const;
    // Counters of the submission queues that exist (the admin queue is index 0).
    [[nodiscard]] std::vector<queue::QueueCounters> queue_stats() const;
    // Per reactor, since the controller was created (nvmf_get_stats).
    [[nodiscard]] std::vector<PollGroupTotals> poll_group_totals() const;
    [[nodiscard]] ControllerState state() const;
    // Stops every queue (after its requests in flight) and releases the reactors; the
    // controller may be destroyed once `done` runs. Control reactor.
    void shutdown(std::move_only_function<void()> done);

  private:
    struct QueueEntry {
        enum class State : uint8_t { none, creating, live, deleting } state = State::none;
        uint32_t size = 0;
        uint64_t gpa = 0;
        uint16_t vector = 0;      // CQ
        bool interrupts = false;  // CQ
        uint16_t cqid = 0;        // SQ
        unsigned shard = 0;
        uint32_t sq_count = 0;  // CQ: live or creating SQs posting to it
    };
    struct NamespaceEntry {
        std::shared_ptr<const Namespace> ns;
        block::BdevSubscription subscription;
        bool active = false;
        bool removing = false;
    };
    using AdminAnswer = std::move_only_function<void(Status status, uint32_t dw0)>;

    Controller(reactor::Reactor& control, std::vector<reactor::Reactor*> reactors,
               const ControllerOptions& options);
    Result<void> init(const ControllerOptions& options);

    // ControlLink (I/O reactors): post to the control reactor.
    void invalid_doorbell(uint16_t qid, bool completion_queue, uint32_t value) noexcept override;
    void fatal_error(const char* reason) noexcept override;
    void admin_command(const nvme_spec::Command& command, uint32_t slot,
                       uint64_t generation) noexcept override;
    void async_event_request(uint16_t cid, uint64_t generation) noexcept override;

    // Posts `fn(shard)` to every shard and `done` here once each has called its callback.
    void for_each_shard(const std::function<void(Shard&, Shard::Done)>& fn,
                        std::move_only_function<void()> done);
    void post_to(unsigned shard, std::move_only_function<void(Shard&)> fn);

    // --- controller state (controller_state.cpp) ---
    void cc_written();
    void evaluate();
    void start_enable();
    void start_disable();
    void start_shutdown(uint32_t shn);
    void enter_fatal(const char* reason);
    void finish_transition();
    [[nodiscard]] bool disabled() const;

    // --- admin commands (controller_admin.cpp and neighbours) ---
    void execute_admin(const nvme_spec::Command& command, uint32_t slot, uint64_t generation);
    void dispatch_admin(const nvme_spec::Command& command, AdminAnswer answer);
    void answer_admin(uint32_t slot, uint64_t generation, Status status, uint32_t dw0);
    void answer_event(const AsyncEvents::Answer& answer);
    void raise_event(uint8_t type, uint8_t info, uint8_t log_page);
    Status transfer_to_host(const nvme_spec::Command& command, std::span<const uint8_t> data,
                            uint64_t length);
    Status transfer_from_host(const nvme_spec::Command& command, std::span<uint8_t> data);
    void identify(const nvme_spec::Command& command, AdminAnswer& answer);
    void get_log_page(const nvme_spec::Command& command, AdminAnswer& answer);
    void get_features(const nvme_spec::Command& command, AdminAnswer& answer);
    void set_features(const nvme_spec::Command& command, AdminAnswer& answer);
    void create_cq(const nvme_spec::Command& command, AdminAnswer answer);
    void create_sq(const nvme_spec::Command& command, AdminAnswer answer);
    void delete_sq(const nvme_spec::Command& command, AdminAnswer answer);
    void delete_cq(const nvme_spec::Command& command, AdminAnswer answer);
    void abort(const nvme_spec::Command& command, AdminAnswer& answer);
    void doorbell_buffer_config(const nvme_spec::Command& command, AdminAnswer answer);

    // --- doorbells and namespaces ---
    void doorbell_write(uint64_t offset, std::span<const uint8_t> data);
    void report_doorbell_error(uint16_t qid, bool completion_queue, uint32_t value, uint8_t info);
    void namespace_event(uint32_t nsid, block::Bdev& bdev, block::BdevEvent event);
    void namespace_changed(uint32_t nsid);
    [[nodiscard]] const Namespace* active_namespace(uint32_t nsid) const;
    [[nodiscard]] std::vector<uint32_t> active_nsids() const;
    [[nodiscard]] bool io_queues_exist() const;
    [[nodiscard]] unsigned shard_for(uint16_t qid) const {
        return static_cast<unsigned>(qid % reactors_.size());
    }

    reactor::Reactor& control_;
    std::vector<reactor::Reactor*> reactors_;
    std::unique_ptr<pci::Endpoint> endpoint_;
    std::unique_ptr<ControllerCore> core_;
    std::vector<std::unique_ptr<Shard>> shards_;
    Registers registers_;
    Features features_;
    AsyncEvents events_;
    ErrorLog error_log_;
    ChangedNamespaces changed_;
    std::vector<QueueEntry> cqs_;  // by queue id
    std::vector<QueueEntry> sqs_;
    std::vector<NamespaceEntry> namespaces_;  // by NSID - 1
    guest_memory::GuestMemory::Ptr memory_ = guest_memory::GuestMemory::empty();
    std::optional<ShadowConfig> shadow_;
    bool admin_live_ = false;  // the admin queue exists on its reactor
    // Queue pairs created per shard, and the shard each I/O queue id last ran on: a queue's
    // counters live as long as the controller, so its completions are counted for that shard.
    std::vector<PollGroupTotals> totals_;
    std::vector<unsigned> last_shard_;  // by queue id
    bool transition_busy_ = false;
    bool shutting_down_ = false;
    uint64_t generation_ = 0;  // of the admin queue; changes with every enable and reset
    uint64_t power_cycles_ = 1;
    std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
    std::vector<std::move_only_function<void()>> reset_waiters_;
};

}  // namespace vhostd::nvme

// Shard: what one reactor holds of a controller: the completion and submission queues placed
// on it, the namespaces' bdev channels on it, the guest memory snapshot its queues use, the
// shadow doorbell buffers, and the eventfd that wakes it for trapped doorbell writes.
//
// The controller changes a shard only by posting to its reactor. Operations that create,
// delete, remap or drain queues and namespaces run one at a time in the order posted (an
// operation may wait for requests in flight to finish); none of them waits for the control
// reactor, so nothing here can deadlock against the admin queue. Answers to admin commands
// and events are not operations: they are delivered at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "base/unique_fd.hpp"
#include "guest_memory/guest_memory.hpp"
#include "nvme/admin_queue.hpp"
#include "nvme/completion_queue.hpp"
#include "nvme/core.hpp"
#include "nvme/namespace.hpp"
#include "nvme/ns_channel.hpp"
#include "nvme/submission_queue.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::nvme {

// Doorbell Buffer Config: the driver's shadow doorbell and EventIdx pages (guest addresses).
struct ShadowConfig {
    uint64_t doorbells = 0;
    uint64_t event_idx = 0;
};

class Shard {
  public:
    using Done = std::move_only_function<void()>;
    using Created = std::move_only_function<void(bool ok)>;

    Shard(ControllerCore& core, reactor::Reactor& reactor);
    ~Shard();  // on the shard's reactor, after stop()
    Shard(const Shard&) = delete;
    Shard& operator=(const Shard&) = delete;

    [[nodiscard]] reactor::Reactor& reactor() { return reactor_; }
    [[nodiscard]] ControllerCore& core() { return core_; }

    // --- control reactor ---
    // A trapped doorbell write for a queue here: wakes the reactor if its queues sleep.
    void kick() noexcept;

    // --- the shard's reactor ---
    Result<void> start();  // registers the wake-up eventfd

    // Operations, run in order. `done` / `created` run on this reactor.
    void create_admin(const CqConfig& cq, const SqConfig& sq, uint64_t generation, Created created);
    void create_cq(const CqConfig& config, Created created);
    void create_sq(const SqConfig& config, Created created);
    // Stops taking from the queue, waits for its requests in flight, deletes it.
    void delete_sq(uint16_t qid, Done done);
    void delete_cq(uint16_t qid, Done done);
    // Drains every I/O queue, moves every queue to `memory`, restarts them. A ring that is
    // not in the new memory makes the controller fatal.
    void set_memory(guest_memory::GuestMemory::Ptr memory, Done done);
    // Shadow doorbells on (nullopt: off) for every I/O queue here, now and later.
    void set_shadow(std::optional<ShadowConfig> shadow, Done done);
    // Deletes every queue (I/O queues after their requests in flight) and the shadow setting.
    void reset(Done done);
    void attach_namespace(std::shared_ptr<const Namespace> ns, Done done);
    // New commands for `nsid` fail at once; `done` runs once those in flight are finished.
    void detach_namespace(uint32_t nsid, Done done);
    // Flushes every namespace's volatile cache (normal shutdown).
    void flush_namespaces(Done done);
    // reset(), every namespace detached, the wake-up eventfd unwatched.
    void stop(Done done);

    // Answers from the control reactor (dropped if the admin queue is not that generation).
    void complete_admin(uint32_t slot, uint64_t generation, Status status, uint32_t dw0);
    void complete_event(uint16_t cid, uint64_t generation, Status status, uint32_t dw0);

    // --- for the queues ---
    [[nodiscard]] NsChannel* ns(uint32_t nsid) {
        return nsid - 1 < namespaces_.size() ? namespaces_[nsid - 1].get() : nullptr;
    }
    void set_armed(bool armed) noexcept { armed_.store(armed, std::memory_order_seq_cst); }

  private:
    struct SqSlot {
        explicit SqSlot(const SqConfig& config) : state(config) {}
        SqState state;
        std::unique_ptr<SubmissionQueue> engine;
    };
    using Op = std::move_only_function<void(Done finished)>;

    void enqueue(Op op);
    void run_next();
    // Stops every I/O engine; `then` runs (posted) once all have drained.
    void stop_io_engines(Done then);
    std::unique_ptr<SubmissionQueue> make_io_engine(SqSlot& slot);
    [[nodiscard]] ShadowSlots shadow_slots(uint32_t doorbell_index) const;
    void apply_shadow(uint16_t qid);

    ControllerCore& core_;
    reactor::Reactor& reactor_;
    guest_memory::GuestMemory::Ptr memory_ = guest_memory::GuestMemory::empty();
    std::vector<std::unique_ptr<CompletionQueue>> cqs_;   // by queue id
    std::vector<std::unique_ptr<SqSlot>> sqs_;            // by queue id; 0 is the admin queue
    AdminQueue* admin_ = nullptr;                         // sqs_[0]'s engine
    std::vector<std::unique_ptr<NsChannel>> namespaces_;  // by NSID - 1
    std::vector<std::unique_ptr<NsChannel>> detaching_;
    std::optional<ShadowConfig> shadow_;
    std::deque<Op> ops_;
    bool op_running_ = false;
    UniqueFd wake_;
    std::optional<reactor::Reactor::FdId> wake_watch_;
    std::atomic<bool> armed_{false};
};

}  // namespace vhostd::nvme

// SubmissionQueue: one submission queue fed into the queue engine: take() reads the tail
// (from the doorbell page, or the driver's shadow doorbell once Doorbell Buffer Config set
// one), copies each 64-byte entry into host memory before anything looks at it, and reserves
// a completion queue slot for it; the device (admin or I/O queue) executes the copies and
// completes them into the completion queue.
//
// Shadow doorbells (5.7, and Linux's nvme_dbbuf_update_and_check_event): while polling, the
// EventIdx is kept just behind the head the controller consumed, which the driver's tail can
// never pass, so it never rings a real doorbell. Interrupt mode sets the EventIdx to the tail
// seen last, so the driver's next submission rings one, and then re-reads the shadow tail:
// a submission that raced the EventIdx update is seen there, and the reactor stays awake.
// In trapped mode a real doorbell reaches the control reactor, which wakes this queue's
// reactor (Shard::kick). In mapped mode a doorbell is a store into shared memory that wakes
// nobody: arm_notifications() always refuses, so a reactor serving mapped queues never sleeps.
//
// Persistent queue state (head, last tail) lives in SqState, which outlives engines: an engine
// is recreated with the same state when guest memory changes.
#pragma once

#include <cstdint>
#include <vector>

#include "guest_memory/guest_memory.hpp"
#include "nvme/completion_queue.hpp"
#include "nvme/core.hpp"
#include "queue/queue_engine.hpp"
#include "spec/nvme.hpp"

namespace vhostd::nvme {

class Shard;

struct SqConfig {
    uint16_t qid = 0;
    uint32_t size = 0;
    uint64_t gpa = 0;
    uint16_t cqid = 0;
};

struct SqState {
    explicit SqState(const SqConfig& c) : config(c) {}
    const SqConfig config;
    uint32_t head = 0;                    // next entry the controller takes
    uint32_t tail = 0;                    // the last valid tail the driver wrote
    uint32_t reported_tail = UINT32_MAX;  // the last invalid tail reported
};

// Where a queue's shadow doorbell and EventIdx slots are, in the engine's memory snapshot.
struct ShadowSlots {
    uint32_t* doorbell = nullptr;
    uint32_t* event_idx = nullptr;
};

class SubmissionQueue : public queue::QueueEngine {
  public:
    // `contexts`: commands in flight at most (request contexts). Check ring_mapped() after.
    SubmissionQueue(Shard& shard, SqState& state, CompletionQueue& cq,
                    guest_memory::GuestMemory::Ptr memory, size_t contexts);
    ~SubmissionQueue() override;

    [[nodiscard]] bool ring_mapped() const { return ring_ != nullptr; }
    [[nodiscard]] uint16_t qid() const { return state_.config.qid; }
    [[nodiscard]] CompletionQueue& cq() { return cq_; }
    [[nodiscard]] const guest_memory::GuestMemory::Ptr& memory() const { return memory_; }

    // Points the engine at new memory in place (the admin queue: nothing of its commands
    // points into guest memory); false if the ring is not in it.
    bool remap(guest_memory::GuestMemory::Ptr memory);
    // From now on the tail comes from `slots` (null: from the doorbell page).
    void set_shadow(ShadowSlots slots);
    void start();

  protected:
    [[nodiscard]] Shard& shard() { return shard_; }
    [[nodiscard]] ControllerCore& core() { return core_; }
    [[nodiscard]] const nvme_spec::Command& command(uint32_t slot) const { return commands_[slot]; }
    [[nodiscard]] uint32_t head() const { return state_.head; }

    // Executes the command copied into `slot`; complete it with complete() now or later.
    virtual void execute(uint32_t slot) noexcept = 0;

    // Stages the completion, frees the slot and ends the request.
    void complete(uint32_t slot, Status status, uint32_t dw0 = 0) noexcept;
    // Ends the request for the queue engine but keeps the slot and its completion queue
    // reservation for an answer that comes later from another reactor (admin commands).
    void hand_off() noexcept { request_finished(); }
    // Frees a slot whose completion is staged through the completion queue directly.
    void release_slot(uint32_t slot) noexcept { free_slots_.push_back(slot); }

  private:
    [[nodiscard]] size_t free_requests() const noexcept final;
    void start_request(uint32_t slot) noexcept final;
    void publish() noexcept final;
    void publish_owed() noexcept final;
    [[nodiscard]] bool accepting() const noexcept final;
    size_t take(std::span<uint32_t> slots) noexcept final;
    bool arm_notifications() noexcept final;
    void disarm_notifications() noexcept final;

    // The tail the driver announced, checked; the last valid one if the new value is not.
    uint32_t read_tail() noexcept;

    Shard& shard_;
    ControllerCore& core_;
    SqState& state_;
    CompletionQueue& cq_;
    guest_memory::GuestMemory::Ptr memory_;
    const uint8_t* ring_ = nullptr;
    ShadowSlots shadow_;
    std::vector<nvme_spec::Command> commands_;  // host copies, one per slot
    std::vector<uint32_t> free_slots_;
    bool armed_ = false;
};

}  // namespace vhostd::nvme

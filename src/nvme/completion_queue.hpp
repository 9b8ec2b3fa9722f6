// CompletionQueue: one completion queue on the reactor that serves it (and every submission
// queue that posts to it). Completions are staged while a poll runs and written to the ring
// at once by publish(), after checking that guest memory was not cut off, each entry's last
// dword (command id, status and phase tag) stored last so the driver never sees a torn entry;
// then the queue's interrupt vector is raised if the queue has interrupts enabled, once per
// publish, subject to interrupt coalescing (5.21.1.8 counts per interrupt vector; here it is
// counted per completion queue, which is the same as long as each queue has its own vector, as
// Linux and SPDK arrange; queues sharing a vector each aggregate on their own). Slots are
// reserved when a command is taken, so a
// taken command always has room for its completion and a full queue (head doorbell not
// advanced) stops the submission queues from taking more. The head comes from the doorbell
// page or the shadow doorbell; a head beyond what was posted is refused and reported.
// Owner reactor only.
#pragma once

#include <cstdint>
#include <vector>

#include "guest_memory/guest_memory.hpp"
#include "nvme/core.hpp"
#include "nvme/status.hpp"
#include "queue/queue_stats.hpp"
#include "spec/nvme.hpp"

namespace vhostd::nvme {

struct CqConfig {
    uint16_t qid = 0;
    uint32_t size = 0;  // entries
    uint64_t gpa = 0;
    uint16_t vector = 0;
    bool interrupts = true;  // IEN
};

class CompletionQueue {
  public:
    CompletionQueue(ControllerCore& core, const CqConfig& config);

    [[nodiscard]] uint16_t qid() const { return config_.qid; }
    [[nodiscard]] uint32_t size() const { return config_.size; }
    [[nodiscard]] const CqConfig& config() const { return config_; }

    // Points the queue at `memory`; false if the ring is not all in it.
    bool remap(guest_memory::GuestMemory::Ptr memory);
    // Reads the head from the driver's shadow doorbell (and maintains its EventIdx) from now
    // on; null pointers: from the doorbell page again.
    void set_shadow(uint32_t* head, uint32_t* event_idx);

    // Entries that can still be reserved (re-reads the head doorbell).
    uint32_t credit() noexcept;
    void reserve() noexcept { ++reserved_; }
    void unreserve() noexcept { --reserved_; }
    // Stages a completion in a slot reserved earlier.
    void stage(uint16_t sqid, uint16_t sq_head, uint16_t cid, Status status, uint32_t dw0) noexcept;

    // Writes the staged entries and raises the interrupt; counts interrupts into `stats`.
    void publish(queue::QueueStats& stats) noexcept;
    // Sends an interrupt coalescing still holds back (before the reactor sleeps or a stop).
    void flush_owed(queue::QueueStats& stats) noexcept;

    // Interrupt mode: while the queue is full, ask for a head doorbell (EventIdx at the head)
    // and tell whether the head moved meanwhile; disarm returns the EventIdx to polling.
    [[nodiscard]] bool full() noexcept { return credit() == 0; }
    [[nodiscard]] bool arm_head_event() noexcept;
    void disarm_head_event() noexcept;

    // Submission queues posting here (Delete I/O CQ refuses while there are any).
    uint32_t attached_sqs = 0;

  private:
    void refresh_head() noexcept;
    [[nodiscard]] uint32_t read_head() const noexcept;
    void raise(queue::QueueStats& stats) noexcept;
    [[nodiscard]] uint32_t outstanding() const noexcept {
        return (tail_ + config_.size - head_) % config_.size;
    }

    ControllerCore& core_;
    const CqConfig config_;
    guest_memory::GuestMemory::Ptr memory_;
    nvme_spec::Completion* ring_ = nullptr;
    uint32_t* shadow_head_ = nullptr;
    uint32_t* event_idx_ = nullptr;
    uint32_t tail_ = 0;
    uint32_t head_ = 0;  // the last valid head the driver wrote
    bool phase_ = true;  // 4.6: the phase tag of the first pass is 1
    uint32_t reserved_ = 0;
    std::vector<nvme_spec::Completion> staged_;  // capacity: the queue size
    uint32_t reported_head_ = UINT32_MAX;        // the last invalid head reported
    uint64_t seen_fault_epoch_;
    bool faulted_ = false;
    // Coalescing: entries posted since the last interrupt, and when the first of them was.
    uint32_t aggregated_ = 0;
    uint64_t owed_since_ns_ = 0;
    bool owed_ = false;
};

}  // namespace vhostd::nvme

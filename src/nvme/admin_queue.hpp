// AdminQueue: the admin submission queue, polled on its reactor like an I/O queue. Admin
// commands run on the control reactor (they read and change controller state): each copied
// entry is handed over there and its completion comes back through Shard::complete_admin.
// A handed-over command keeps its slot and its completion queue reservation but is not in
// flight for the queue engine: nothing of it points into guest memory on this reactor (the
// control reactor transfers its data through its own memory snapshot), so the queue can be
// remapped or deleted without waiting for the control reactor. Asynchronous Event Requests
// give their slot back at once and keep only the reservation until an event answers them.
#pragma once

#include <cstdint>

#include "nvme/submission_queue.hpp"

namespace vhostd::nvme {

class AdminQueue final : public SubmissionQueue {
  public:
    // `generation` tags the commands it hands over; answers for another generation (a queue
    // deleted by a controller reset since) are dropped.
    AdminQueue(Shard& shard, SqState& state, CompletionQueue& cq,
               guest_memory::GuestMemory::Ptr memory, uint64_t generation);

    [[nodiscard]] uint64_t generation() const { return generation_; }
    // The control reactor's answer for the command in `slot`.
    void complete_admin(uint32_t slot, Status status, uint32_t dw0) noexcept;
    // An event for an outstanding Asynchronous Event Request (its reservation is used).
    void complete_event(uint16_t cid, Status status, uint32_t dw0) noexcept;

  private:
    void execute(uint32_t slot) noexcept override;

    uint64_t generation_;
    uint32_t handed_over_ = 0;  // slots waiting for the control reactor
};

}  // namespace vhostd::nvme

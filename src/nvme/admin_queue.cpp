// AdminQueue: hand-over to the control reactor and the answers coming back.
#include "nvme/admin_queue.hpp"

namespace vhostd::nvme {

// The admin queue holds as many commands as its size allows (AQA.ASQS + 1 at most 4096).
AdminQueue::AdminQueue(Shard& shard, SqState& state, CompletionQueue& cq,
                       guest_memory::GuestMemory::Ptr memory, uint64_t generation)
    : SubmissionQueue(shard, state, cq, std::move(memory), state.config.size),
      generation_(generation) {}

void AdminQueue::execute(uint32_t slot) noexcept {
    const nvme_spec::Command& c = command(slot);
    hand_off();
    if (c.opcode == nvme_spec::admin_opcode::kAsyncEventRequest) {
        // Outstanding until an event: the slot is free again, the reservation stays.
        const uint16_t cid = c.cid;
        release_slot(slot);
        core().link.async_event_request(cid, generation_);
        return;
    }
    ++handed_over_;
    core().link.admin_command(c, slot, generation_);
}

void AdminQueue::complete_admin(uint32_t slot, Status status, uint32_t dw0) noexcept {
    if (handed_over_ == 0) {
        return;  // not ours (never happens with matching generations)
    }
    --handed_over_;
    cq().stage(qid(), static_cast<uint16_t>(head()), command(slot).cid, status, dw0);
    release_slot(slot);
}

void AdminQueue::complete_event(uint16_t cid, Status status, uint32_t dw0) noexcept {
    cq().stage(qid(), static_cast<uint16_t>(head()), cid, status, dw0);
}

}  // namespace vhostd::nvme

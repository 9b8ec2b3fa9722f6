// SubmissionQueue: tail reads and checks, entry copies, EventIdx upkeep, interrupt mode.
#include "nvme/submission_queue.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "nvme/shard.hpp"

namespace vhostd::nvme {

SubmissionQueue::SubmissionQueue(Shard& shard, SqState& state, CompletionQueue& cq,
                                 guest_memory::GuestMemory::Ptr memory, size_t contexts)
    : QueueEngine(shard.reactor()),
      shard_(shard),
      core_(shard.core()),
      state_(state),
      cq_(cq),
      commands_(contexts) {
    set_stats(core_.queue_stats(state.config.qid));
    free_slots_.reserve(contexts);
    for (size_t i = contexts; i > 0; --i) {
        free_slots_.push_back(static_cast<uint32_t>(i - 1));
    }
    remap(std::move(memory));
}

SubmissionQueue::~SubmissionQueue() = default;

bool SubmissionQueue::remap(guest_memory::GuestMemory::Ptr memory) {
    memory_ = std::move(memory);
    ring_ = static_cast<const uint8_t*>(memory_->host_address(
        state_.config.gpa, uint64_t{state_.config.size} * nvme_spec::kSqEntrySize));
    return ring_ != nullptr;
}

void SubmissionQueue::set_shadow(ShadowSlots slots) {
    shadow_ = slots;
    if (shadow_.event_idx != nullptr) {
        store_doorbell(shadow_.event_idx,
                       (state_.head + state_.config.size - 1) % state_.config.size);
    }
}

void SubmissionQueue::start() {
    start_polling();
}

size_t SubmissionQueue::free_requests() const noexcept {
    return std::min<size_t>(free_slots_.size(), cq_.credit());
}

bool SubmissionQueue::accepting() const noexcept {
    return ring_ != nullptr && !core_.fatal.load(std::memory_order_relaxed);
}

uint32_t SubmissionQueue::read_tail() noexcept {
    const uint32_t raw = shadow_.doorbell != nullptr
                             ? load_doorbell(shadow_.doorbell)
                             : core_.doorbells.load(nvme_spec::sq_doorbell_index(qid()));
    if (raw == state_.tail) {
        return raw;
    }
    const uint32_t size = state_.config.size;
    const uint32_t pending = (state_.tail + size - state_.head) % size;
    // 4.1 and 5.2.1 (invalid doorbell write value): the tail indexes the queue, and entries
    // once announced cannot be taken back (the pending count never shrinks by a tail write).
    if (raw >= size || (raw + size - state_.head) % size < pending) {
        if (raw != state_.reported_tail) {
            state_.reported_tail = raw;
            core_.link.invalid_doorbell(qid(), false, raw);
        }
        return state_.tail;
    }
    state_.tail = raw;
    return raw;
}

size_t SubmissionQueue::take(std::span<uint32_t> slots) noexcept {
    const uint32_t size = state_.config.size;
    const uint32_t tail = read_tail();
    const size_t available = (tail + size - state_.head) % size;
    const size_t count = std::min(slots.size(), available);
    uint32_t head = state_.head;
    for (size_t i = 0; i < count; ++i) {
        const uint32_t slot = free_slots_.back();
        free_slots_.pop_back();
        // 4.2: the entry is copied once; only the copy is looked at from here on.
        std::memcpy(&commands_[slot], ring_ + size_t{head} * nvme_spec::kSqEntrySize,
                    nvme_spec::kSqEntrySize);
        head = head + 1 == size ? 0 : head + 1;
        if (i + 1 < count) {
            __builtin_prefetch(ring_ + size_t{head} * nvme_spec::kSqEntrySize);
        }
        cq_.reserve();
        slots[i] = slot;
    }
    state_.head = head;
    if (count != 0 && shadow_.event_idx != nullptr && !armed_) {
        store_doorbell(shadow_.event_idx, (head + size - 1) % size);
    }
    return count;
}

void SubmissionQueue::start_request(uint32_t slot) noexcept {
    request_started();
    execute(slot);
}

void SubmissionQueue::complete(uint32_t slot, Status status, uint32_t dw0) noexcept {
    cq_.stage(qid(), static_cast<uint16_t>(state_.head), commands_[slot].cid, status, dw0);
    free_slots_.push_back(slot);
    request_finished();
}

void SubmissionQueue::publish() noexcept {
    cq_.publish(counters());
}

void SubmissionQueue::publish_owed() noexcept {
    cq_.flush_owed(counters());
}

bool SubmissionQueue::arm_notifications() noexcept {
    if (core_.options.doorbell_mode == DoorbellMode::mapped) {
        return false;  // a doorbell store into the mapped page would wake nobody
    }
    armed_ = true;
    shard_.set_armed(true);
    if (shadow_.event_idx != nullptr) {
        // The driver's next tail update starts at the tail seen last: it rings.
        store_doorbell(shadow_.event_idx, state_.tail);
    }
    // Ordered against the driver's "store shadow tail, full barrier, load EventIdx" and the
    // control reactor's "store doorbell, full barrier, load armed".
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const uint32_t tail = read_tail();
    if (tail != state_.head && !free_slots_.empty()) {
        if (cq_.credit() > 0) {
            return false;  // work arrived
        }
        // Blocked on a full completion queue: sleep until the driver moves its head.
        if (cq_.arm_head_event()) {
            return false;
        }
    }
    return true;
}

void SubmissionQueue::disarm_notifications() noexcept {
    armed_ = false;
    shard_.set_armed(false);
    if (shadow_.event_idx != nullptr) {
        store_doorbell(shadow_.event_idx,
                       (state_.head + state_.config.size - 1) % state_.config.size);
    }
    cq_.disarm_head_event();
}

}  // namespace vhostd::nvme

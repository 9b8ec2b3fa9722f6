// CompletionQueue: staging, publishing with the phase tag, head checks, interrupts.
#include "nvme/completion_queue.hpp"

#include <atomic>
#include <chrono>
#include <cstring>

#include "guest_memory/fault_guard.hpp"

namespace vhostd::nvme {

namespace {

uint64_t now_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

constexpr uint64_t kCoalescingTimeUnitNs = 100'000;  // 5.21.1.8: TIME in 100 µs units

}  // namespace

CompletionQueue::CompletionQueue(ControllerCore& core, const CqConfig& config)
    : core_(core), config_(config), seen_fault_epoch_(guest_memory::fault_epoch()) {
    staged_.reserve(config.size);
}

bool CompletionQueue::remap(guest_memory::GuestMemory::Ptr memory) {
    memory_ = std::move(memory);
    ring_ = static_cast<nvme_spec::Completion*>(
        memory_->host_address(config_.gpa, uint64_t{config_.size} * sizeof(nvme_spec::Completion)));
    if (memory_->faulted()) {
        faulted_ = true;  // a table that faulted before stays unusable
    }
    return ring_ != nullptr && !faulted_;
}

void CompletionQueue::set_shadow(uint32_t* head, uint32_t* event_idx) {
    shadow_head_ = head;
    event_idx_ = event_idx;
    if (event_idx_ != nullptr) {
        // Polling: an EventIdx just behind the head is never inside a range the driver moves
        // the head over (it cannot pass the tail), so the driver never rings.
        store_doorbell(event_idx_, (head_ + config_.size - 1) % config_.size);
    }
}

uint32_t CompletionQueue::read_head() const noexcept {
    return shadow_head_ != nullptr
               ? load_doorbell(shadow_head_)
               : core_.doorbells.load(nvme_spec::cq_doorbell_index(config_.qid));
}

void CompletionQueue::refresh_head() noexcept {
    const uint32_t head = read_head();
    if (head == head_) {
        return;
    }
    // 4.1 / 5.2.1 (invalid doorbell write value): the head indexes the queue and cannot move
    // past the entries the controller posted.
    if (head >= config_.size || (head + config_.size - head_) % config_.size > outstanding()) {
        if (head != reported_head_) {
            reported_head_ = head;
            core_.link.invalid_doorbell(config_.qid, true, head);
        }
        return;
    }
    head_ = head;
    if (event_idx_ != nullptr) {
        store_doorbell(event_idx_, (head_ + config_.size - 1) % config_.size);
    }
}

uint32_t CompletionQueue::credit() noexcept {
    refresh_head();
    const int64_t used = int64_t{outstanding()} + int64_t(staged_.size()) + reserved_;
    const int64_t free = int64_t{config_.size} - 1 - used;
    return free > 0 ? static_cast<uint32_t>(free) : 0;
}

void CompletionQueue::stage(uint16_t sqid, uint16_t sq_head, uint16_t cid, Status status,
                            uint32_t dw0) noexcept {
    if (reserved_ > 0) {
        --reserved_;
    }
    staged_.push_back(nvme_spec::Completion{
        .dw0 = dw0, .dw1 = 0, .sq_head = sq_head, .sq_id = sqid, .cid = cid, .status = status});
}

void CompletionQueue::publish(queue::QueueStats& stats) noexcept {
    if (staged_.empty()) {
        if (owed_ && now_ns() - owed_since_ns_ >=
                         ((core_.coalescing.load(std::memory_order_relaxed) >> 8) & 0xff) *
                             kCoalescingTimeUnitNs) {
            raise(stats);
        }
        return;
    }
    if (guest_memory::fault_epoch() != seen_fault_epoch_) [[unlikely]] {
        seen_fault_epoch_ = guest_memory::fault_epoch();
        if (!faulted_ && memory_ && memory_->faulted()) {
            faulted_ = true;
            core_.link.fatal_error("guest memory was cut off under a completion queue");
        }
    }
    if (faulted_ || ring_ == nullptr) [[unlikely]] {
        // Requests since the fault may have lost their data: acknowledge none of them.
        staged_.clear();
        return;
    }
    const size_t count = staged_.size();
    for (const nvme_spec::Completion& entry : staged_) {
        auto* slot = reinterpret_cast<uint8_t*>(ring_ + tail_);
        std::memcpy(slot, &entry, 12);
        // The dword with the phase tag goes last: the driver owns the entry once it sees it.
        const uint32_t last =
            uint32_t{entry.cid} | (uint32_t{status_word(entry.status, phase_)} << 16);
        std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(slot + 12))
            .store(last, std::memory_order_release);
        if (++tail_ == config_.size) {
            tail_ = 0;
            phase_ = !phase_;
        }
    }
    staged_.clear();
    if (!config_.interrupts) {
        return;
    }
    const uint32_t setting = core_.coalescing.load(std::memory_order_relaxed);
    const uint32_t threshold = setting & 0xff;  // 0's based
    const uint32_t time = (setting >> 8) & 0xff;
    // 5.21.1.8: never for the admin completion queue; a zero time or threshold means none,
    // and feature 09h may turn it off per vector.
    if (config_.qid == 0 || threshold == 0 || time == 0 ||
        core_.coalescing_disabled(config_.vector)) {
        raise(stats);
        return;
    }
    aggregated_ += static_cast<uint32_t>(count);
    if (aggregated_ > threshold) {
        raise(stats);
        return;
    }
    const uint64_t now = now_ns();
    if (!owed_) {
        owed_ = true;
        owed_since_ns_ = now;
        queue::QueueStats::add(stats.calls_deferred);
    } else if (now - owed_since_ns_ >= time * kCoalescingTimeUnitNs) {
        raise(stats);
    }
}

void CompletionQueue::flush_owed(queue::QueueStats& stats) noexcept {
    if (owed_) {
        raise(stats);
    }
}

void CompletionQueue::raise(queue::QueueStats& stats) noexcept {
    aggregated_ = 0;
    owed_ = false;
    core_.interrupts.signal(config_.vector);
    queue::QueueStats::add(stats.calls);
}

bool CompletionQueue::arm_head_event() noexcept {
    if (event_idx_ != nullptr) {
        // The next head update the driver makes starts at head_: it rings a real doorbell.
        store_doorbell(event_idx_, head_);
    }
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return read_head() != head_;
}

void CompletionQueue::disarm_head_event() noexcept {
    if (event_idx_ != nullptr) {
        store_doorbell(event_idx_, (head_ + config_.size - 1) % config_.size);
    }
}

}  // namespace vhostd::nvme

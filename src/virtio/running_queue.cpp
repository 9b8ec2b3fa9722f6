// RunningQueue: used-ring flushes with call-eventfd signalling, breakage, interrupt mode.
#include "virtio/running_queue.hpp"

#include <chrono>

#include "base/event_fd.hpp"
#include "base/log.hpp"
#include "guest_memory/fault_guard.hpp"

namespace vhostd::virtio {

namespace {

std::unique_ptr<Virtqueue> make_ring(VirtqueueConfig& config,
                                     const guest_memory::GuestMemory& memory,
                                     const guest_memory::DirtyLog* log) {
    const bool event_idx = (config.features & bit(feature::kEventIdx)) != 0;
    const bool indirect = (config.features & bit(feature::kIndirectDesc)) != 0;
    if ((config.features & bit(feature::kRingPacked)) != 0) {
        return std::make_unique<PackedQueue>(config.packed, memory,
                                             PackedQueue::Options{
                                                 .event_idx = event_idx,
                                                 .indirect = indirect,
                                                 .base = PackedBase::decode(config.base),
                                                 .inflight = config.inflight,
                                                 .log = log,
                                             });
    }
    return std::make_unique<SplitQueue>(config.ring, memory,
                                        SplitQueue::Options{
                                            .event_idx = event_idx,
                                            .indirect = indirect,
                                            .last_avail_idx = static_cast<uint16_t>(config.base),
                                            .inflight = config.inflight,
                                            .log = config.used_log_gpa ? log : nullptr,
                                            .used_log_gpa = config.used_log_gpa.value_or(0),
                                        });
}

}  // namespace

RunningQueue::RunningQueue(VirtqueueConfig config)
    : index_(config.index),
      features_(config.features),
      memory_(std::move(config.memory)),
      log_(std::move(config.log)),
      ring_(make_ring(config, *memory_, log_.get())),
      inflight_(std::move(config.inflight)),
      kick_(std::move(config.kick)),
      call_(std::move(config.call)),
      err_(std::move(config.err)),
      seen_fault_epoch_(guest_memory::fault_epoch()) {
    // A table that faulted before (a restart without a new SET_MEM_TABLE) stays unusable, and
    // so does an inflight region cut short (nothing could be recorded in it).
    if (memory_->faulted() || (inflight_ && inflight_.region->faulted()) ||
        (log_ && log_->faulted())) {
        memory_faulted_ = true;
        ring_->mark_broken("guest memory was cut off under the device before the queue started");
    }
}

namespace {

uint64_t now_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

}  // namespace

void RunningQueue::flush_used() {
    if (guest_memory::fault_epoch() != seen_fault_epoch_) [[unlikely]] {
        note_memory_faults();
    }
    if (memory_faulted_) [[unlikely]] {
        // Requests since the fault may have read zeroes instead of the guest's data or written
        // into a page the guest no longer has: none of them is acknowledged.
        report_if_broken();
        return;
    }
    if (ring_->publish_used() && call_) {
        signal_call();
    } else if (coalescer_.pending()) [[unlikely]] {
        signal_call_if_due();
    }
}

void RunningQueue::replace_memory(guest_memory::GuestMemory::Ptr memory, bool keep_previous) {
    if (keep_previous) {
        previous_memory_ = std::move(memory_);
    }
    memory_ = std::move(memory);
    ring_->set_memory(*memory_);
    // A table whose regions faulted before stays unusable, as at start.
    if (!memory_faulted_ && memory_->faulted()) {
        memory_faulted_ = true;
        mark_broken("guest memory was cut off under the device (its file shrank)");
    }
}

void RunningQueue::log_iovecs(std::span<const iovec> written) {
    for (const iovec& iov : written) {
        if (iov.iov_len == 0) {
            continue;
        }
        // Every iovec a device writes came from this memory's translate(): it lies in one
        // region. A page the log does not cover cannot be marked; the frontend resizes the
        // log before the guest can use new memory (SET_LOG_BASE after a table change).
        std::optional<uint64_t> gpa = memory_->gpa_of(iov.iov_base, iov.iov_len);
        if (!gpa && previous_memory_) [[unlikely]] {
            // A request taken before a region was removed completes into it.
            gpa = previous_memory_->gpa_of(iov.iov_base, iov.iov_len);
        }
        if (!gpa || !log_->mark(*gpa, iov.iov_len)) [[unlikely]] {
            LOG_RATELIMITED(virtio, warn,
                            "queue {}: a write to guest memory lies outside the dirty log", index_);
        }
    }
}

void RunningQueue::signal_call() {
    if (coalescer_.enabled()) [[unlikely]] {
        const uint64_t completions =
            stats_ != nullptr ? queue::QueueStats::get(stats_->completions) : 0;
        if (!coalescer_.notify(now_ns(), completions)) {
            if (stats_ != nullptr) {
                queue::QueueStats::add(stats_->calls_deferred);
            }
            return;
        }
    }
    send_call();
}

void RunningQueue::signal_call_if_due() {
    // Coalescing turned off meanwhile: what it owes goes out now.
    if (!coalescer_.enabled() || coalescer_.due(now_ns())) {
        flush_owed_call();
    }
}

void RunningQueue::flush_owed_call() {
    if (coalescer_.pending()) {
        coalescer_.clear();
        if (call_) {
            send_call();
        }
    }
}

void RunningQueue::note_memory_faults() {
    seen_fault_epoch_ = guest_memory::fault_epoch();
    if (!memory_faulted_ &&
        (memory_->faulted() || (previous_memory_ && previous_memory_->faulted()))) {
        memory_faulted_ = true;
        mark_broken("guest memory was cut off under the device (its file shrank)");
    }
    // Requests recorded in a region that faulted would not be recovered after a crash: the
    // device acknowledges nothing it cannot also recover.
    if (!memory_faulted_ && inflight_ && inflight_.region->faulted()) {
        memory_faulted_ = true;
        mark_broken("the inflight region was cut off under the device (its file shrank)");
    }
    // Marks into a log cut short are lost: the migrated guest would miss the pages, so the
    // device acknowledges nothing more.
    if (!memory_faulted_ && log_ && log_->faulted()) {
        memory_faulted_ = true;
        mark_broken("the dirty log was cut off under the device (its file shrank)");
    }
}

void RunningQueue::send_call() {
    if (!signal_peer_event_fd(call_.get())) [[unlikely]] {
        // The write would have blocked this reactor (the frontend's eventfd is full and in
        // blocking mode) and was broken off: no more interrupts through it.
        call_.reset();
        mark_broken("the call eventfd does not take notifications");
        return;
    }
    if (stats_ != nullptr) {
        queue::QueueStats::add(stats_->calls);
    }
}

void RunningQueue::mark_broken(const char* reason) {
    if (!ring_->broken()) {
        ring_->mark_broken(reason);
    }
    report_if_broken();
}

void RunningQueue::report_broken() {
    reported_broken_ = true;
    LOG_RATELIMITED(virtio, err, "queue {} stopped, device needs reset: {}", index_,
                    ring_->broken_reason());
    if (err_ && !signal_peer_event_fd(err_.get())) {
        err_.reset();  // as with the call fd: never block on it again
    }
    if (on_broken_) {
        on_broken_();
    }
}

bool RunningQueue::enter_interrupt_mode() {
    if (kick_) {
        // Drop stale kicks first, so a kick that arrives from here on means new work.
        drain_event_fd(kick_.get());
    }
    return !ring_->enable_notifications();
}

void RunningQueue::leave_interrupt_mode() {
    ring_->disable_notifications();
}

}  // namespace vhostd::virtio

// RunningQueue: a started virtqueue as a reactor runs it: its ring (a Virtqueue of the
// negotiated layout, split or packed), the guest memory snapshot the ring points into, the
// inflight slice it records into, and the kick, call and error eventfds the frontend passed,
// with interrupt coalescing and the breakage report.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>

#include <sys/uio.h>

#include "base/unique_fd.hpp"
#include "guest_memory/dirty_log.hpp"
#include "guest_memory/guest_memory.hpp"
#include "queue/queue_stats.hpp"
#include "virtio/call_coalescer.hpp"
#include "virtio/inflight_region.hpp"
#include "virtio/packed_queue.hpp"
#include "virtio/split_queue.hpp"
#include "virtio/virtqueue.hpp"

namespace vhostd::virtio {

struct VirtqueueConfig {
    uint16_t index = 0;
    uint64_t features = 0;  // negotiated virtio feature bits; RING_PACKED picks the layout
    SplitRing ring;         // the split ring's parts
    PackedRing packed;      // the packed ring's parts
    // VHOST_USER_SET_VRING_BASE: the split ring's next avail index, or the packed ring's
    // avail and used positions (PackedBase::encode).
    uint32_t base = 0;
    InflightSlot inflight;  // this queue's inflight slice; empty: not tracked
    guest_memory::GuestMemory::Ptr memory;
    // Live migration (VHOST_F_LOG_ALL): the dirty log every guest write of this queue is
    // marked in before its used entry is published; null when not logging.
    guest_memory::DirtyLog::Ptr log;
    // VHOST_VRING_F_LOG: a split ring's used-ring writes are logged at this guest-physical
    // address (SET_VRING_ADDR's log_guest_addr). A packed ring logs the descriptors and event
    // area it writes whenever `log` is set.
    std::optional<uint64_t> used_log_gpa;
    UniqueFd kick;  // invalid: the frontend never kicks (it relies on polling)
    UniqueFd call;  // invalid: the frontend polls the used ring
    UniqueFd err;   // signalled when the ring breaks
};

class RunningQueue {
  public:
    explicit RunningQueue(VirtqueueConfig config);

    [[nodiscard]] uint16_t index() const { return index_; }
    [[nodiscard]] uint64_t features() const { return features_; }
    [[nodiscard]] Virtqueue& ring() { return *ring_; }
    [[nodiscard]] const Virtqueue& ring() const { return *ring_; }
    [[nodiscard]] const guest_memory::GuestMemory& memory() const { return *memory_; }
    [[nodiscard]] int kick_fd() const { return kick_.get(); }
    [[nodiscard]] bool logging() const { return log_ != nullptr; }

    // Marks the guest pages of `written` (buffers of this queue's memory the device wrote) in
    // the dirty log. Call before the request's used entry is pushed. One predictable branch
    // when not logging.
    void log_written(std::span<const iovec> written) {
        if (log_ != nullptr) [[unlikely]] {
            log_iovecs(written);
        }
    }

    // Memory hot-plug (ADD_MEM_REG / REM_MEM_REG): requests are translated in `memory` from now
    // on. With `keep_previous` the table used so far stays mapped (requests taken under it may
    // still point into a region `memory` lacks) until release_previous_memory().
    void replace_memory(guest_memory::GuestMemory::Ptr memory, bool keep_previous);
    void release_previous_memory() { previous_memory_.reset(); }

    // Publishes pushed used elements and signals the call eventfd if the driver asked for it.
    // Publishes nothing once the guest memory faulted (the ring is then broken).
    void flush_used();
    void set_call_fd(UniqueFd call) { call_ = std::move(call); }
    // Interrupt coalescing (CallCoalescer); delay_base_us == 0 turns it off.
    void set_coalescing(uint32_t delay_base_us, uint32_t iops_threshold) {
        coalescer_.configure(delay_base_us, iops_threshold);
    }
    // Sends a signal coalescing still owes (before the reactor sleeps, before a stop).
    void flush_owed_call();
    // Where completions and interrupts are counted (the queue handler's queue::QueueStats).
    void set_stats(queue::QueueStats& stats) { stats_ = &stats; }

    // Breaks the ring: no more requests are taken; the error eventfd is signalled.
    void mark_broken(const char* reason);
    [[nodiscard]] bool broken() const { return ring_->broken(); }
    // Called once, on the owning reactor, when the ring breaks (the transport reports
    // NEEDS_RESET to the frontend).
    void set_broken_callback(std::move_only_function<void()> callback) {
        on_broken_ = std::move(callback);
    }
    // Reports (log, error eventfd, callback) a breakage the ring detected by itself; once.
    void report_if_broken() {
        if (ring_->broken() && !reported_broken_) [[unlikely]] {
            report_broken();
        }
    }

    // Interrupt mode for adaptive polling. enter: drain the kick eventfd and ask the driver to
    // kick; returns true if the reactor may sleep (no work arrived meanwhile). leave: tell
    // the driver not to kick again.
    [[nodiscard]] bool enter_interrupt_mode();
    void leave_interrupt_mode();

  private:
    void log_iovecs(std::span<const iovec> written);
    void report_broken();
    void note_memory_faults();
    void signal_call();
    void signal_call_if_due();
    void send_call();

    uint16_t index_;
    uint64_t features_;
    guest_memory::GuestMemory::Ptr memory_;  // keeps the regions the ring points into mapped
    // The table before a removal, while requests taken under it are in flight.
    guest_memory::GuestMemory::Ptr previous_memory_;
    guest_memory::DirtyLog::Ptr log_;  // outlives ring_, which marks into it
    std::unique_ptr<Virtqueue> ring_;
    InflightSlot inflight_;  // what the ring records into (kept for its fault state)
    UniqueFd kick_;
    UniqueFd call_;
    UniqueFd err_;
    bool reported_broken_ = false;
    uint64_t seen_fault_epoch_;    // guest_memory::fault_epoch() when last looked at
    bool memory_faulted_ = false;  // a region of memory_ was cut off: acknowledge nothing
    CallCoalescer coalescer_;
    queue::QueueStats* stats_ = nullptr;
    std::move_only_function<void()> on_broken_;
};

}  // namespace vhostd::virtio

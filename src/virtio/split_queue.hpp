// SplitQueue: the device side of a split virtqueue (spec 2.7) over guest memory: fetching
// available heads, walking their chains, batching used-ring updates, and the notification
// rules (VRING_USED_F_NO_NOTIFY, VIRTIO_RING_F_EVENT_IDX). The Virtqueue of split rings. Owned
// by one reactor; no locks.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "guest_memory/dirty_log.hpp"
#include "guest_memory/guest_memory.hpp"
#include "spec/virtio.hpp"
#include "virtio/descriptor_chain.hpp"
#include "virtio/inflight_split.hpp"
#include "virtio/virtqueue.hpp"

namespace vhostd::virtio {

// Host addresses of a split ring, already checked by the transport to lie in guest memory
// with the sizes and alignments that queue_size implies.
struct SplitRing {
    void* desc = nullptr;
    void* avail = nullptr;
    void* used = nullptr;
    uint16_t size = 0;  // power of two, 1..kMaxSplitQueueSize
};

// Spec 2.7: split queue sizes are powers of two up to 32768.
constexpr uint16_t kMaxSplitQueueSize = 32768;

class SplitQueue final : public Virtqueue {
  public:
    struct Options {
        bool event_idx = false;       // VIRTIO_RING_F_EVENT_IDX negotiated
        bool indirect = false;        // VIRTIO_RING_F_INDIRECT_DESC negotiated
        uint16_t last_avail_idx = 0;  // from VHOST_USER_SET_VRING_BASE
        // Inflight tracking (vhost-user.rst): every head is recorded before take() returns it
        // and cleared once its used element is visible. A slice that was in use gives the
        // avail index instead of `last_avail_idx`, and its heads are taken first, in their
        // original order; a slice that fails validation breaks the ring.
        InflightSlot inflight;
        // VHOST_VRING_F_LOG while logging for migration: every used-ring write (elements,
        // index, flags, avail_event) is marked in `log` at `used_log_gpa` + its offset, before
        // the index that publishes it is stored. Null: not logged.
        const guest_memory::DirtyLog* log = nullptr;
        uint64_t used_log_gpa = 0;
    };

    SplitQueue(const SplitRing& ring, const guest_memory::GuestMemory& memory, Options options);
    ~SplitQueue() override;

    [[nodiscard]] uint16_t size() const override { return size_; }
    void set_memory(const guest_memory::GuestMemory& memory) override { memory_ = &memory; }

    // --- avail side ---
    // Heads the driver has made available and we have not taken. 0 if the ring is broken;
    // an avail index more than `size` ahead breaks the ring (2.7.6).
    [[nodiscard]] uint16_t available();
    // Takes the next head; nullopt when none is available or the head index is invalid
    // (which breaks the ring).
    [[nodiscard]] std::optional<uint16_t> pop();
    [[nodiscard]] uint16_t last_avail_idx() const { return last_avail_idx_; }
    [[nodiscard]] uint32_t ring_base() const override { return last_avail_idx_; }
    // Recovered heads first, then pop(), prefetch() (and, when tracked, the inflight record)
    // for up to heads.size() heads.
    size_t take(std::span<uint32_t> heads) override;

    // Starts loading the descriptor at `head` (from pop()) into the cache, so a batch of
    // chains is fetched from the driver's core in parallel rather than one miss at a time.
    void prefetch(uint16_t head) const {
        __builtin_prefetch(static_cast<const uint8_t*>(desc_.base) +
                           size_t{head} * sizeof(VringDesc));
    }

    // Walks the chain at `head`; a ring-level error breaks the ring.
    [[nodiscard]] DescriptorChain walk(uint16_t head, const ChainLimits& limits,
                                       std::span<iovec> storage) override;

    // --- used side ---
    // Writes a used element; not visible to the driver until publish_used().
    void push_used(uint16_t head, uint32_t written) override;
    // Makes pushed elements visible (store-release of used->idx). Returns true if the driver
    // must be interrupted for them (event index or VRING_AVAIL_F_NO_INTERRUPT rules).
    [[nodiscard]] bool publish_used() override;
    [[nodiscard]] uint16_t used_idx() const { return used_idx_; }
    [[nodiscard]] bool has_unpublished() const { return used_idx_ != published_used_idx_; }
    [[nodiscard]] const SplitInflight* inflight() const { return inflight_.get(); }

    // --- driver notifications (kicks) ---
    // Asks the driver to kick for new buffers, then re-reads the avail index: returns true
    // if work arrived meanwhile (the caller must not sleep).
    [[nodiscard]] bool enable_notifications() override;
    // Tells the driver not to kick (we are polling).
    void disable_notifications() override;

  private:
    [[nodiscard]] uint16_t read_avail_idx() const;
    // Marks used-ring bytes [offset, offset + len) in the dirty log, when logging.
    void log_used(size_t offset, size_t len) const {
        if (log_ != nullptr) [[unlikely]] {
            log_->mark(used_log_gpa_ + offset, len);
        }
    }

    DescTable desc_;
    uint8_t* avail_;  // flags, idx, ring[size], used_event
    uint8_t* used_;   // flags, idx, ring[size], avail_event
    uint16_t size_;
    const guest_memory::GuestMemory* memory_;
    bool event_idx_;
    bool indirect_;
    uint16_t last_avail_idx_;
    uint16_t shadow_avail_idx_ = 0;  // the avail index as last read
    uint16_t used_idx_;              // next used slot we write
    uint16_t published_used_idx_;    // what the driver can see
    uint16_t signalled_used_idx_ = 0;
    bool signalled_used_valid_ = false;  // no interrupt sent yet: the first one is mandatory
    std::unique_ptr<SplitInflight> inflight_;
    const guest_memory::DirtyLog* log_;
    uint64_t used_log_gpa_;
    std::vector<uint16_t> resubmit_;  // recovered heads still to hand out, in order
    size_t resubmit_next_ = 0;
};

}  // namespace vhostd::virtio

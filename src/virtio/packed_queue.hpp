// PackedQueue: the device side of a packed virtqueue (spec 2.8) over guest memory: fetching
// available descriptor lists in ring order (wrap counters, NEXT chains, indirect tables), buffer
// IDs, used descriptors written in batches whose first descriptor's flags are written last,
// and the event suppression structures (ENABLE / DISABLE / DESC with EVENT_IDX). The Virtqueue
// of packed rings; the slot it hands the device for a request is the buffer ID. Owned by one
// reactor; no locks.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "guest_memory/dirty_log.hpp"
#include "guest_memory/guest_memory.hpp"
#include "spec/virtio.hpp"
#include "virtio/descriptor_chain.hpp"
#include "virtio/inflight_packed.hpp"
#include "virtio/packed_position.hpp"
#include "virtio/virtqueue.hpp"

namespace vhostd::virtio {

// Host addresses of a packed ring, already checked by the transport to lie in guest memory
// with the sizes and alignments of 2.8.10.1.
struct PackedRing {
    void* desc = nullptr;          // descriptor ring: size descriptors
    void* driver_event = nullptr;  // driver event suppression: the driver writes, we read
    void* device_event = nullptr;  // device event suppression: we write, the driver reads
    uint16_t size = 0;             // 1..kMaxPackedQueueSize, any value
};

class PackedQueue final : public Virtqueue {
  public:
    struct Options {
        bool event_idx = false;  // VIRTIO_RING_F_EVENT_IDX negotiated
        bool indirect = false;   // VIRTIO_RING_F_INDIRECT_DESC negotiated
        PackedBase base;         // from VHOST_USER_SET_VRING_BASE
        // Inflight tracking (vhost-user.rst): every list is recorded before take() returns it
        // and released once its used descriptor is visible. A slice that was in use gives the
        // ring base instead of `base`, and its buffers are taken first, in their original
        // order; a slice that fails validation breaks the ring.
        InflightSlot inflight;
        // Logging for migration: every descriptor written back and every write to the device
        // event area is marked in `log` (at their guest-physical addresses) before the flags
        // that publish it are stored. Null: not logged.
        const guest_memory::DirtyLog* log = nullptr;
    };

    PackedQueue(const PackedRing& ring, const guest_memory::GuestMemory& memory, Options options);
    ~PackedQueue() override;

    [[nodiscard]] uint16_t size() const override { return size_; }
    void set_memory(const guest_memory::GuestMemory& memory) override { memory_ = &memory; }

    // --- available side ---
    // Buffer IDs of lists the driver made available, after any recovered ones. The lists are
    // copied into host memory here: walk() must be called for them before the next take().
    size_t take(std::span<uint32_t> ids) override;
    // Walks the copied list of buffer `id` (from take()).
    [[nodiscard]] DescriptorChain walk(uint16_t id, const ChainLimits& limits,
                                       std::span<iovec> storage) override;
    // Next avail and next used descriptor with their wrap counters (PackedBase::encode).
    [[nodiscard]] uint32_t ring_base() const override { return PackedBase{avail_, used_}.encode(); }
    [[nodiscard]] PackedPosition avail_position() const { return avail_; }
    [[nodiscard]] PackedPosition used_position() const { return used_; }

    // --- used side ---
    // Writes the used descriptor for buffer `id` at the next used position (its flags only
    // once publish_used() comes, if it is the batch's first), then skips its list's slots.
    void push_used(uint16_t id, uint32_t written) override;
    // Writes the batch's first flags (release). True if the driver asked to be interrupted.
    [[nodiscard]] bool publish_used() override;

    // --- driver notifications ---
    [[nodiscard]] bool enable_notifications() override;
    void disable_notifications() override;

    [[nodiscard]] const PackedInflight* inflight() const { return inflight_.get(); }

  private:
    // A buffer ID in flight: where its copied descriptors are and how many ring slots it took.
    struct Buffer {
        uint32_t first = 0;  // index into shadow_ (or recovered_ when `recovered`)
        uint16_t num = 0;    // ring descriptors in its list
        bool in_flight = false;
        bool recovered = false;
    };

    [[nodiscard]] bool next_available() const;
    // Copies the list at avail_ into shadow_; false (ring untouched) if it does not fit what is
    // left of this batch, or the ring broke.
    bool fetch(uint32_t batch_slots, uint16_t& id);
    [[nodiscard]] bool driver_wants_interrupt(PackedPosition old_used) const;
    // After a recovery: clears the used flags a dead device left in the slots it still owns.
    void disarm_stale_used(PackedBase base);
    // Marks ring slot `index` / the device event area in the dirty log, when logging.
    void log_desc(uint16_t index) const {
        if (log_ != nullptr) [[unlikely]] {
            log_->mark(desc_log_gpa_ + size_t{index} * sizeof(PackedDesc), sizeof(PackedDesc));
        }
    }
    void log_device_event() const {
        if (log_ != nullptr) [[unlikely]] {
            log_->mark(device_event_log_gpa_, kEventSuppressBytes);
        }
    }

    PackedDesc* ring_;
    uint8_t* driver_event_;
    uint8_t* device_event_;
    uint16_t size_;
    const guest_memory::GuestMemory* memory_;
    bool event_idx_;
    bool indirect_;
    PackedPosition avail_;
    PackedPosition used_;
    PackedPosition published_;  // used_ as the driver can see it
    uint16_t pending_ = 0;      // used descriptors pushed since the last publish
    uint16_t batch_first_ = 0;  // ring slot of the batch's first used descriptor
    uint16_t batch_first_flags_ = 0;
    std::vector<PackedDesc> shadow_;  // lists copied by take(): 2 * size, never wrapped
    std::vector<Buffer> buffers_;     // by buffer ID
    std::unique_ptr<PackedInflight> inflight_;
    std::vector<PackedDesc> recovered_;  // descriptors of the recovered buffers
    std::vector<uint16_t> resubmit_;     // recovered buffer IDs still to hand out, in order
    size_t resubmit_next_ = 0;
    const guest_memory::DirtyLog* log_ = nullptr;
    uint64_t desc_log_gpa_ = 0;          // guest-physical address of ring_
    uint64_t device_event_log_gpa_ = 0;  // ... and of device_event_
};

}  // namespace vhostd::virtio

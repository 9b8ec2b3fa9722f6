// DriverQueue: the driver side of a virtqueue in GuestRam: a split ring (VIRTIO 1.2, 2.7), or a
// packed one (2.8, PackedDriverRing) when asked. For a split ring it keeps the descriptor free
// list, adds chains (direct or as an indirect table), publishes them to the avail ring, kicks by
// the device's notification rules, and harvests the used ring; it also gives raw access to every
// split ring field so tests can feed a device hostile rings (packed_ring() has the packed
// equivalents).
//
// Single-threaded: one owner thread per queue; nothing on the request path allocates.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "frontend/guest_ram.hpp"
#include "frontend/packed_driver_ring.hpp"
#include "frontend/ring_types.hpp"
#include "spec/virtio.hpp"

namespace vhostd::frontend {

class DriverQueue {
  public:
    struct Options {
        uint16_t size = 128;     // split: a power of two <= 32768; packed: any size <= 32768
        bool packed = false;     // VIRTIO_F_RING_PACKED negotiated
        bool event_idx = false;  // VIRTIO_RING_F_EVENT_IDX negotiated
        // > 0: preallocate an indirect table of this many entries per descriptor, for add()
        // with `indirect` (VIRTIO_RING_F_INDIRECT_DESC negotiated).
        uint16_t indirect_max = 0;
    };

    // Allocates the rings (and indirect tables) from `ram`, and the kick and call eventfds.
    // `ram` must outlive the queue.
    static Result<DriverQueue> create(GuestRam& ram, const Options& options);

    [[nodiscard]] uint16_t size() const { return size_; }
    [[nodiscard]] bool packed() const { return packed_ != nullptr; }
    // The packed ring (packed() only): positions and raw access.
    [[nodiscard]] PackedDriverRing& packed_ring() { return *packed_; }
    [[nodiscard]] const PackedDriverRing& packed_ring() const { return *packed_; }
    [[nodiscard]] bool event_idx() const { return event_idx_; }
    [[nodiscard]] uint16_t indirect_max() const { return indirect_max_; }
    [[nodiscard]] int kick_fd() const { return kick_fd_.get(); }
    [[nodiscard]] int call_fd() const { return call_fd_.get(); }
    // Ring GPAs and this process's addresses of them (VHOST_USER_SET_VRING_ADDR takes the
    // latter: front-end virtual addresses). Packed: the descriptor ring, the driver event area
    // (as "avail") and the device event area (as "used"), as QEMU sends them.
    [[nodiscard]] uint64_t desc_gpa() const { return desc_gpa_; }
    [[nodiscard]] uint64_t avail_gpa() const { return avail_gpa_; }
    [[nodiscard]] uint64_t used_gpa() const { return used_gpa_; }
    [[nodiscard]] uint64_t desc_user_addr() const { return reinterpret_cast<uint64_t>(desc_); }
    [[nodiscard]] uint64_t avail_user_addr() const { return reinterpret_cast<uint64_t>(avail_); }
    [[nodiscard]] uint64_t used_user_addr() const { return reinterpret_cast<uint64_t>(used_); }

    [[nodiscard]] uint16_t num_free() const { return packed_ ? packed_->free_slots() : num_free_; }
    [[nodiscard]] uint16_t in_flight() const { return packed_ ? packed_->in_flight() : in_flight_; }

    // --- request path ---
    // Writes a chain and queues its head for the avail ring; the device sees it after
    // publish(). Readable segments must precede writable ones (2.7.4.2). Returns the head, or
    // nullopt if the segments are empty or do not fit (free descriptors / indirect_max).
    std::optional<uint16_t> add(std::span<const Segment> segments, uint64_t cookie,
                                bool indirect = false) noexcept;
    // Makes added heads visible (store-release of avail->idx). Returns true if the device asked
    // to be notified of them (VRING_USED_F_NO_NOTIFY, or avail_event with EVENT_IDX: 2.7.10).
    bool publish() noexcept;
    // Signals the kick eventfd unconditionally.
    void kick() const noexcept;
    // publish(), then kick() if the device wants it; returns whether it kicked.
    bool publish_and_kick() noexcept;

    // True if the device has returned used elements not yet harvested.
    [[nodiscard]] bool has_used() const noexcept;
    // Harvests up to out.size() used elements and frees their descriptors. EPROTO (and the
    // queue stays broken) if the device returns a head that is not in flight or moves used->idx
    // further than the heads in flight.
    Result<size_t> poll(std::span<UsedEntry> out) noexcept;

    // Interrupt suppression (2.7.7 / 2.7.10): disable while busy-polling.
    void disable_interrupts() noexcept;
    // Re-enables; returns true if used elements are already pending (do not sleep).
    bool enable_interrupts() noexcept;
    // Waits until used elements are pending: enables interrupts and sleeps on the call fd.
    // ETIMEDOUT if none arrive in time.
    Result<void> wait(std::chrono::milliseconds timeout) noexcept;

    [[nodiscard]] const char* broken() const { return packed_ ? packed_->broken() : broken_; }

    // --- raw access to a split ring: bypasses the free list and in-flight bookkeeping ---
    // Tests that use these should not mix them with add()/poll() on the same descriptors.
    [[nodiscard]] virtio::VringDesc* desc_table() const { return desc_; }
    void write_desc(uint16_t index, const virtio::VringDesc& desc) const noexcept;
    // Writes avail->ring[slot % size] without touching avail->idx.
    void set_avail_entry(uint16_t slot, uint16_t head) const noexcept;
    // Appends `head` at the next avail slot (visible after publish()).
    void push_avail_raw(uint16_t head) noexcept;
    // Stores avail->idx (release) and makes it the published index.
    void set_avail_idx(uint16_t idx) noexcept;
    [[nodiscard]] uint16_t avail_idx() const noexcept;
    void set_avail_flags(uint16_t flags) const noexcept;
    void set_used_event(uint16_t value) const noexcept;
    [[nodiscard]] uint16_t used_flags() const noexcept;
    [[nodiscard]] uint16_t used_idx() const noexcept;  // as the device last wrote it
    [[nodiscard]] uint16_t avail_event() const noexcept;
    [[nodiscard]] virtio::VringUsedElem used_elem(uint16_t slot) const noexcept;
    // The next used index poll() will read; setting it skips or replays used elements.
    [[nodiscard]] uint16_t last_used_idx() const { return last_used_; }
    void set_last_used_idx(uint16_t idx) { last_used_ = idx; }
    // Reads used elements up to used->idx without validating or freeing anything.
    size_t poll_raw(std::span<virtio::VringUsedElem> out) noexcept;

  private:
    struct HeadState {
        uint64_t cookie = 0;
        uint16_t tail = 0;   // last descriptor of the chain (for splicing into the free list)
        uint16_t count = 0;  // descriptors taken from the free list; 0 = not in flight
    };

    DriverQueue() = default;

    [[nodiscard]] uint16_t* avail_field(uint64_t offset) const {
        return reinterpret_cast<uint16_t*>(avail_ + offset);
    }
    [[nodiscard]] uint16_t* used_field(uint64_t offset) const {
        return reinterpret_cast<uint16_t*>(used_ + offset);
    }

    virtio::VringDesc* desc_ = nullptr;
    uint8_t* avail_ = nullptr;  // flags, idx, ring[size], used_event
    uint8_t* used_ = nullptr;   // flags, idx, ring[size], avail_event
    uint64_t desc_gpa_ = 0;
    uint64_t avail_gpa_ = 0;
    uint64_t used_gpa_ = 0;
    virtio::VringDesc* indirect_ = nullptr;  // size * indirect_max entries
    uint64_t indirect_gpa_ = 0;
    uint16_t indirect_max_ = 0;
    uint16_t size_ = 0;
    bool event_idx_ = false;
    bool interrupts_ = true;

    std::vector<uint16_t> next_free_;  // driver-private links: the device cannot corrupt them
    std::vector<HeadState> heads_;
    uint16_t free_head_ = 0;
    uint16_t num_free_ = 0;
    uint16_t in_flight_ = 0;
    uint16_t shadow_avail_ = 0;     // next avail slot add() writes
    uint16_t published_avail_ = 0;  // avail->idx as last stored
    uint16_t last_used_ = 0;
    const char* broken_ = nullptr;

    UniqueFd kick_fd_;
    UniqueFd call_fd_;
    std::unique_ptr<PackedDriverRing> packed_;  // set for a packed ring
};

}  // namespace vhostd::frontend

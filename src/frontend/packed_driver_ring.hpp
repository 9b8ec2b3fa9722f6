// PackedDriverRing: the driver side of a packed virtqueue (VIRTIO 1.2, 2.8) in GuestRam: buffer
// IDs, descriptor lists written in ring order with the driver ring wrap counter (a list's
// first flags written last), the used descriptors harvested by ID, and both event
// suppression structures. Also gives raw access to the ring so tests can feed a device
// hostile lists. DriverQueue uses it when a queue is packed.
//
// Single-threaded: one owner thread per queue; nothing on the request path allocates.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/error.hpp"
#include "frontend/guest_ram.hpp"
#include "frontend/ring_types.hpp"
#include "spec/virtio.hpp"

namespace vhostd::frontend {

class PackedDriverRing {
  public:
    struct Options {
        uint16_t size = 128;     // 1..32768, any value
        bool event_idx = false;  // VIRTIO_RING_F_EVENT_IDX negotiated
        // > 0: an indirect table of this many entries per buffer ID, for add() with `indirect`.
        uint16_t indirect_max = 0;
    };
    // A ring position (slot and wrap counter).
    struct Position {
        uint16_t index = 0;
        bool wrap = true;  // 2.8.1: starts at 1
        friend bool operator==(const Position&, const Position&) = default;
    };

    static Result<PackedDriverRing> create(GuestRam& ram, const Options& options);

    [[nodiscard]] uint16_t size() const { return size_; }
    [[nodiscard]] bool event_idx() const { return event_idx_; }
    [[nodiscard]] uint16_t indirect_max() const { return indirect_max_; }
    [[nodiscard]] uint64_t desc_gpa() const { return desc_gpa_; }
    [[nodiscard]] uint64_t driver_event_gpa() const { return driver_event_gpa_; }
    [[nodiscard]] uint64_t device_event_gpa() const { return device_event_gpa_; }
    [[nodiscard]] virtio::PackedDesc* desc_ring() const { return desc_; }
    [[nodiscard]] uint16_t free_slots() const { return free_slots_; }
    [[nodiscard]] uint16_t in_flight() const { return in_flight_; }

    // --- request path ---
    // Writes a list (all but its first flags) under a free buffer ID; the device sees it after
    // publish(). Returns the ID, or nullopt if the segments are empty or do not fit.
    std::optional<uint16_t> add(std::span<const Segment> segments, uint64_t cookie,
                                bool indirect = false) noexcept;
    // Writes the first flags of every list added since the last publish (release). True if
    // the device asked to be notified of them (device event suppression, 2.8.10).
    bool publish() noexcept;
    [[nodiscard]] bool has_used() const noexcept;
    // Harvests up to out.size() used descriptors. EPROTO (and broken for good) if the device
    // names a buffer ID that is not in flight.
    Result<size_t> poll(std::span<UsedEntry> out) noexcept;
    void disable_interrupts() noexcept;
    // Re-enables interrupts (at the next used descriptor with EVENT_IDX); true if used
    // descriptors are already there.
    bool enable_interrupts() noexcept;
    [[nodiscard]] const char* broken() const { return broken_; }

    // Where the next list goes / the next used descriptor is expected. With no buffer in
    // flight they are the ring base a (re)started device continues from.
    [[nodiscard]] Position next_avail() const { return next_avail_; }
    [[nodiscard]] Position next_used() const { return next_used_; }

    // --- raw access for hostile tests (bypasses IDs and bookkeeping) ---
    // Writes the whole descriptor at `slot` (flags last, release).
    void write_desc(uint16_t slot, const virtio::PackedDesc& desc) const noexcept;
    [[nodiscard]] virtio::PackedDesc read_desc(uint16_t slot) const noexcept;
    // The flags that make a descriptor available in lap `wrap` (2.8.1).
    [[nodiscard]] static uint16_t avail_flags(bool wrap) {
        return static_cast<uint16_t>(wrap ? virtio::desc_flags::kAvail : virtio::desc_flags::kUsed);
    }
    void set_driver_event(uint16_t off_wrap, uint16_t flags) const noexcept;
    [[nodiscard]] virtio::EventSuppress device_event() const noexcept;

  private:
    struct IdState {
        uint64_t cookie = 0;
        uint16_t slots = 0;  // ring descriptors of its list; 0 = free
    };

    PackedDriverRing() = default;
    [[nodiscard]] uint16_t load_flags(uint16_t slot) const noexcept;
    void advance(Position& p, uint16_t slots) const noexcept;

    virtio::PackedDesc* desc_ = nullptr;
    uint8_t* driver_event_ = nullptr;  // we write
    uint8_t* device_event_ = nullptr;  // the device writes
    uint64_t desc_gpa_ = 0;
    uint64_t driver_event_gpa_ = 0;
    uint64_t device_event_gpa_ = 0;
    virtio::PackedDesc* indirect_ = nullptr;  // size * indirect_max entries
    uint64_t indirect_gpa_ = 0;
    uint16_t indirect_max_ = 0;
    uint16_t size_ = 0;
    bool event_idx_ = false;
    bool interrupts_ = true;

    std::vector<IdState> ids_;
    std::vector<uint16_t> free_ids_;
    std::vector<uint16_t> unpublished_;  // first slots of lists added since the last publish
    std::vector<uint16_t> unpublished_flags_;
    size_t unpublished_count_ = 0;
    uint16_t free_slots_ = 0;
    uint16_t in_flight_ = 0;
    Position next_avail_;
    Position published_avail_;
    Position next_used_;
    const char* broken_ = nullptr;
};

}  // namespace vhostd::frontend

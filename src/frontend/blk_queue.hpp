// BlkQueue: asynchronous virtio-blk requests on one DriverQueue. Each request uses a
// preallocated slot in guest RAM (header, discard/write-zeroes segment, status byte), so the
// request path allocates nothing; submissions are batched until kick(), completions polled
// from the used ring. One owner thread per queue.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "base/error.hpp"
#include "frontend/blk_protocol.hpp"
#include "frontend/driver_queue.hpp"
#include "frontend/guest_ram.hpp"

namespace vhostd::frontend {

// A data buffer of a request, in guest RAM.
struct DataSegment {
    uint64_t gpa = 0;
    uint32_t len = 0;
};

struct BlkCompletion {
    uint64_t tag = 0;
    uint8_t status = blk::status::kNotWritten;
    uint32_t len = 0;  // used length the device reported
};

class BlkQueue {
  public:
    struct Options {
        uint16_t size = 128;
        bool packed = false;              // VIRTIO_F_RING_PACKED negotiated
        bool event_idx = false;           // VIRTIO_RING_F_EVENT_IDX negotiated
        bool indirect = false;            // send every request as an indirect table
        uint16_t max_data_segments = 32;  // per request
    };

    struct Stats {
        uint64_t submitted = 0;
        uint64_t completed = 0;
        uint64_t kicks = 0;             // eventfd writes
        uint64_t kicks_suppressed = 0;  // batches the device asked not to be told about
    };

    static Result<BlkQueue> create(GuestRam& ram, const Options& options);

    // --- submission: false if no slot or descriptors are free (harvest completions first),
    // or the request has more than max_data_segments. Nothing is visible before kick().
    // `type` may be any value (tests send unsupported ones); IN and GET_ID data is
    // device-writable, everything else device-readable.
    bool submit(uint64_t tag, uint32_t type, uint64_t sector,
                std::span<const DataSegment> data) noexcept;
    bool submit_read(uint64_t tag, uint64_t sector, std::span<const DataSegment> data) noexcept {
        return submit(tag, static_cast<uint32_t>(blk::RequestType::in), sector, data);
    }
    bool submit_write(uint64_t tag, uint64_t sector, std::span<const DataSegment> data) noexcept {
        return submit(tag, static_cast<uint32_t>(blk::RequestType::out), sector, data);
    }
    bool submit_flush(uint64_t tag) noexcept {
        return submit(tag, static_cast<uint32_t>(blk::RequestType::flush), 0, {});
    }
    // `id` receives up to 20 bytes (VIRTIO_BLK_ID_BYTES).
    bool submit_get_id(uint64_t tag, DataSegment id) noexcept {
        return submit(tag, static_cast<uint32_t>(blk::RequestType::get_id), 0, {&id, 1});
    }
    // One-segment DISCARD / WRITE_ZEROES, the segment kept in the request's slot.
    bool submit_discard(uint64_t tag, uint64_t sector, uint32_t num_sectors) noexcept;
    bool submit_write_zeroes(uint64_t tag, uint64_t sector, uint32_t num_sectors,
                             bool unmap) noexcept;

    // A hand-built chain (hostile tests: split headers, missing status, odd directions) with
    // the usual tag bookkeeping. The completion's status is kNotWritten: the caller reads its
    // own status buffer. Up to max_data_segments + 2 segments.
    bool submit_raw(uint64_t tag, std::span<const Segment> chain) noexcept;

    // Publishes everything submitted since the last kick; notifies the device if it asks.
    void kick() noexcept;

    // Harvests up to out.size() completions. EPROTO if the device corrupted the used ring.
    Result<size_t> poll(std::span<BlkCompletion> out) noexcept;
    // Sleeps on the call eventfd until a completion is pending (enables interrupts).
    Result<void> wait(std::chrono::milliseconds timeout) noexcept { return ring_.wait(timeout); }
    // Busy-polling mode: asks the device not to interrupt.
    void disable_interrupts() noexcept { ring_.disable_interrupts(); }

    [[nodiscard]] uint16_t in_flight() const { return ring_.in_flight(); }
    [[nodiscard]] uint16_t free_slots() const { return static_cast<uint16_t>(free_.size()); }
    [[nodiscard]] const Stats& stats() const { return stats_; }
    [[nodiscard]] DriverQueue& ring() { return ring_; }
    [[nodiscard]] const DriverQueue& ring() const { return ring_; }

  private:
    // Layout of a slot in guest RAM.
    static constexpr uint64_t kHeaderOffset = 0;
    static constexpr uint64_t kSegmentOffset = 16;
    static constexpr uint64_t kStatusOffset = 32;
    static constexpr uint64_t kSlotStride = 64;

    explicit BlkQueue(DriverQueue ring) : ring_(std::move(ring)) {}

    bool submit_segment(uint64_t tag, blk::RequestType type, uint64_t sector, uint32_t num_sectors,
                        uint32_t flags) noexcept;
    bool enqueue(uint64_t tag, uint16_t slot, size_t count) noexcept;

    DriverQueue ring_;
    uint8_t* slots_host_ = nullptr;
    uint64_t slots_gpa_ = 0;
    bool indirect_ = false;
    uint16_t max_data_segments_ = 0;
    std::vector<uint64_t> tags_;    // by slot
    std::vector<uint16_t> free_;    // free slot stack (capacity = queue size)
    std::vector<Segment> scratch_;  // chain being built: header, data..., status
    std::vector<UsedEntry> used_;   // poll() batch
    uint32_t unpublished_ = 0;      // submissions since the last kick()
    Stats stats_;
};

}  // namespace vhostd::frontend

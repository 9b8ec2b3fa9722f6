// BlkQueue: builds virtio-blk chains (5.2.6: header, data, status byte) from per-request slots.
#include "frontend/blk_queue.hpp"

#include <algorithm>
#include <cstring>

namespace vhostd::frontend {

Result<BlkQueue> BlkQueue::create(GuestRam& ram, const Options& options) {
    DriverQueue::Options ring_options;
    ring_options.size = options.size;
    ring_options.packed = options.packed;
    ring_options.event_idx = options.event_idx;
    // Header and status byte ride in the same table as the data.
    const uint32_t chain_max = uint32_t{options.max_data_segments} + 2;
    if (options.indirect) {
        if (chain_max > UINT16_MAX) {
            return make_error(EINVAL, "{} data segments do not fit an indirect table",
                              options.max_data_segments);
        }
        ring_options.indirect_max = static_cast<uint16_t>(chain_max);
    }
    BlkQueue q(VHOSTD_TRY(DriverQueue::create(ram, ring_options)));
    const GuestBuffer slots = VHOSTD_TRY(ram.alloc(uint64_t{options.size} * kSlotStride, 64));
    q.slots_host_ = slots.host;
    q.slots_gpa_ = slots.gpa;
    q.indirect_ = options.indirect;
    q.max_data_segments_ = options.max_data_segments;
    q.tags_.resize(options.size);
    q.free_.reserve(options.size);
    for (uint32_t slot = options.size; slot-- > 0;) {
        q.free_.push_back(static_cast<uint16_t>(slot));
    }
    q.scratch_.resize(chain_max);
    q.used_.resize(options.size);
    return q;
}

bool BlkQueue::submit(uint64_t tag, uint32_t type, uint64_t sector,
                      std::span<const DataSegment> data) noexcept {
    if (free_.empty() || data.size() > max_data_segments_) {
        return false;
    }
    const uint16_t slot = free_.back();
    uint8_t* base = slots_host_ + uint64_t{slot} * kSlotStride;
    const uint64_t gpa = slots_gpa_ + uint64_t{slot} * kSlotStride;
    const blk::RequestHeader header{type, 0, sector};
    std::memcpy(base + kHeaderOffset, &header, sizeof(header));
    base[kStatusOffset] = blk::status::kNotWritten;

    const bool writable = type == static_cast<uint32_t>(blk::RequestType::in) ||
                          type == static_cast<uint32_t>(blk::RequestType::get_id);
    // 2.7.4.2: device-readable buffers first, then device-writable ones.
    scratch_[0] = Segment{gpa + kHeaderOffset, sizeof(header), false};
    for (size_t i = 0; i < data.size(); ++i) {
        scratch_[1 + i] = Segment{data[i].gpa, data[i].len, writable};
    }
    scratch_[1 + data.size()] = Segment{gpa + kStatusOffset, 1, true};
    return enqueue(tag, slot, data.size() + 2);
}

bool BlkQueue::submit_segment(uint64_t tag, blk::RequestType type, uint64_t sector,
                              uint32_t num_sectors, uint32_t flags) noexcept {
    if (free_.empty()) {
        return false;
    }
    const uint16_t slot = free_.back();
    uint8_t* base = slots_host_ + uint64_t{slot} * kSlotStride;
    const uint64_t gpa = slots_gpa_ + uint64_t{slot} * kSlotStride;
    // 5.2.6: DISCARD / WRITE_ZEROES carry their ranges in the data; the header sector is unused.
    const blk::RequestHeader header{static_cast<uint32_t>(type), 0, 0};
    const blk::DiscardWriteZeroesSegment segment{sector, num_sectors, flags};
    std::memcpy(base + kHeaderOffset, &header, sizeof(header));
    std::memcpy(base + kSegmentOffset, &segment, sizeof(segment));
    base[kStatusOffset] = blk::status::kNotWritten;
    scratch_[0] = Segment{gpa + kHeaderOffset, sizeof(header), false};
    scratch_[1] = Segment{gpa + kSegmentOffset, sizeof(segment), false};
    scratch_[2] = Segment{gpa + kStatusOffset, 1, true};
    return enqueue(tag, slot, 3);
}

bool BlkQueue::submit_discard(uint64_t tag, uint64_t sector, uint32_t num_sectors) noexcept {
    return submit_segment(tag, blk::RequestType::discard, sector, num_sectors, 0);
}

bool BlkQueue::submit_write_zeroes(uint64_t tag, uint64_t sector, uint32_t num_sectors,
                                   bool unmap) noexcept {
    return submit_segment(tag, blk::RequestType::write_zeroes, sector, num_sectors,
                          unmap ? blk::kSegmentFlagUnmap : 0);
}

bool BlkQueue::submit_raw(uint64_t tag, std::span<const Segment> chain) noexcept {
    if (free_.empty() || chain.size() > scratch_.size()) {
        return false;
    }
    const uint16_t slot = free_.back();
    slots_host_[uint64_t{slot} * kSlotStride + kStatusOffset] = blk::status::kNotWritten;
    std::copy(chain.begin(), chain.end(), scratch_.begin());
    return enqueue(tag, slot, chain.size());
}

bool BlkQueue::enqueue(uint64_t tag, uint16_t slot, size_t count) noexcept {
    if (!ring_.add({scratch_.data(), count}, slot, indirect_)) {
        return false;
    }
    free_.pop_back();
    tags_[slot] = tag;
    ++stats_.submitted;
    ++unpublished_;
    return true;
}

void BlkQueue::kick() noexcept {
    if (unpublished_ == 0) {
        return;
    }
    unpublished_ = 0;
    if (ring_.publish()) {
        ring_.kick();
        ++stats_.kicks;
    } else {
        ++stats_.kicks_suppressed;
    }
}

// free_ was reserved for every slot, so its push_back never allocates; only a broken ring's
// error (a string) could, and then terminating the client is what noexcept means here.
// NOLINTNEXTLINE(bugprone-exception-escape)
Result<size_t> BlkQueue::poll(std::span<BlkCompletion> out) noexcept {
    const size_t want = std::min(out.size(), used_.size());
    const size_t n = VHOSTD_TRY(ring_.poll({used_.data(), want}));
    for (size_t i = 0; i < n; ++i) {
        const auto slot = static_cast<uint16_t>(used_[i].cookie);
        // The acquire in DriverQueue::poll orders this read after the device's status write.
        const uint8_t status = slots_host_[uint64_t{slot} * kSlotStride + kStatusOffset];
        out[i] = BlkCompletion{tags_[slot], status, used_[i].len};
        free_.push_back(slot);
    }
    stats_.completed += n;
    return n;
}

}  // namespace vhostd::frontend

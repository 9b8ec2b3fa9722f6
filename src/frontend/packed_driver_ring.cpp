// PackedDriverRing: packed-ring driver mechanics. Fields shared with the device are accessed
// through std::atomic_ref so the orderings of 2.8.21 are explicit.
#include "frontend/packed_driver_ring.hpp"

#include <atomic>
#include <cstring>

namespace vhostd::frontend {

namespace {

using virtio::PackedDesc;
namespace desc_flags = virtio::desc_flags;
namespace ring_event = virtio::ring_event;

constexpr size_t kOffWrap = 0;
constexpr size_t kFlags = 2;

uint16_t load16(const void* p, std::memory_order order) {
    return std::atomic_ref(*static_cast<uint16_t*>(const_cast<void*>(p))).load(order);
}
void store16(void* p, uint16_t v, std::memory_order order) {
    std::atomic_ref(*static_cast<uint16_t*>(p)).store(v, order);
}

// vring_need_event over packed positions: did [old, now) (in the lap of `now`) pass `event`?
bool passed(uint16_t size, PackedDriverRing::Position old, PackedDriverRing::Position now,
            uint16_t event_off_wrap) {
    const int32_t event_index = event_off_wrap & 0x7fff;
    const bool event_wrap = (event_off_wrap & 0x8000) != 0;
    const int32_t before = old.index - (old.wrap != now.wrap ? int32_t{size} : 0);
    const int32_t target = event_index - (event_wrap != now.wrap ? int32_t{size} : 0);
    return static_cast<uint16_t>(now.index - target - 1) <
           static_cast<uint16_t>(now.index - before);
}

}  // namespace

Result<PackedDriverRing> PackedDriverRing::create(GuestRam& ram, const Options& options) {
    // 2.8: up to 2^15 entries, any value.
    if (options.size == 0 || options.size > virtio::kMaxPackedQueueSize) {
        return make_error(EINVAL, "packed queue size {} is not in 1..{}", options.size,
                          virtio::kMaxPackedQueueSize);
    }
    PackedDriverRing r;
    r.size_ = options.size;
    r.event_idx_ = options.event_idx;
    r.indirect_max_ = options.indirect_max;
    const GuestBuffer desc = VHOSTD_TRY(ram.alloc(virtio::packed_desc_ring_bytes(r.size_), 4096));
    const GuestBuffer driver = VHOSTD_TRY(ram.alloc(virtio::kEventSuppressBytes, 64));
    const GuestBuffer device = VHOSTD_TRY(ram.alloc(virtio::kEventSuppressBytes, 64));
    // 2.8.13: the descriptor ring is zero-initialized (no descriptor is available in lap 1).
    for (const GuestBuffer& b : {desc, driver, device}) {
        std::memset(b.host, 0, b.size);
    }
    r.desc_ = reinterpret_cast<PackedDesc*>(desc.host);
    r.driver_event_ = driver.host;
    r.device_event_ = device.host;
    r.desc_gpa_ = desc.gpa;
    r.driver_event_gpa_ = driver.gpa;
    r.device_event_gpa_ = device.gpa;
    if (r.indirect_max_ != 0) {
        const uint64_t bytes = uint64_t{r.size_} * r.indirect_max_ * sizeof(PackedDesc);
        const GuestBuffer table = VHOSTD_TRY(ram.alloc(bytes, 64));
        r.indirect_ = reinterpret_cast<PackedDesc*>(table.host);
        r.indirect_gpa_ = table.gpa;
    }
    r.ids_.resize(r.size_);
    r.free_ids_.reserve(r.size_);
    for (uint32_t id = r.size_; id-- > 0;) {
        r.free_ids_.push_back(static_cast<uint16_t>(id));
    }
    r.unpublished_.resize(r.size_);
    r.unpublished_flags_.resize(r.size_);
    r.free_slots_ = r.size_;
    return r;
}

void PackedDriverRing::advance(Position& p, uint16_t slots) const noexcept {
    uint32_t next = uint32_t{p.index} + slots;
    if (next >= size_) {
        next -= size_;
        p.wrap = !p.wrap;
    }
    p.index = static_cast<uint16_t>(next);
}

std::optional<uint16_t> PackedDriverRing::add(std::span<const Segment> segments, uint64_t cookie,
                                              bool indirect) noexcept {
    const size_t n = segments.size();
    const size_t slots = indirect ? 1 : n;
    if (n == 0 || broken_ != nullptr || free_ids_.empty() || slots > free_slots_ ||
        (indirect && n > indirect_max_)) {
        return std::nullopt;
    }
    const uint16_t id = free_ids_.back();
    free_ids_.pop_back();
    const Position first = next_avail_;
    uint16_t first_flags = 0;
    if (indirect) {
        // 2.8.7: the table's entries carry only WRITE; the buffer ID is in the ring descriptor.
        PackedDesc* table = indirect_ + size_t{id} * indirect_max_;
        for (size_t i = 0; i < n; ++i) {
            table[i] = PackedDesc{segments[i].gpa, segments[i].len, 0,
                                  segments[i].device_writable ? desc_flags::kWrite : uint16_t{0}};
        }
        PackedDesc& d = desc_[first.index];
        d.addr = indirect_gpa_ + uint64_t{id} * indirect_max_ * sizeof(PackedDesc);
        d.len = static_cast<uint32_t>(n * sizeof(PackedDesc));
        d.id = id;
        first_flags = static_cast<uint16_t>(desc_flags::kIndirect | avail_flags(first.wrap));
        advance(next_avail_, 1);
    } else {
        for (size_t i = 0; i < n; ++i) {
            PackedDesc& d = desc_[next_avail_.index];
            d.addr = segments[i].gpa;
            d.len = segments[i].len;
            d.id = id;  // 2.8.6: needed in the last; Linux writes it in every one
            const auto flags = static_cast<uint16_t>(
                (segments[i].device_writable ? desc_flags::kWrite : 0) |
                (i + 1 < n ? desc_flags::kNext : 0) | avail_flags(next_avail_.wrap));
            if (i == 0) {
                first_flags = flags;  // 2.8.6: made available after the rest of the list
            } else {
                store16(&d.flags, flags, std::memory_order_release);
            }
            advance(next_avail_, 1);
        }
    }
    ids_[id] = IdState{cookie, static_cast<uint16_t>(slots)};
    free_slots_ = static_cast<uint16_t>(free_slots_ - slots);
    ++in_flight_;
    unpublished_[unpublished_count_] = first.index;
    unpublished_flags_[unpublished_count_] = first_flags;
    ++unpublished_count_;
    return id;
}

bool PackedDriverRing::publish() noexcept {
    if (unpublished_count_ == 0) {
        return false;
    }
    // 2.8.21.1: a memory barrier, then each list's first flags expose it.
    for (size_t i = 0; i < unpublished_count_; ++i) {
        store16(&desc_[unpublished_[i]].flags, unpublished_flags_[i], std::memory_order_release);
    }
    unpublished_count_ = 0;
    const Position old = published_avail_;
    published_avail_ = next_avail_;
    // 2.8.21.3.1: the flags must be visible before the device's suppression state is read.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const uint16_t flags =
        load16(device_event_ + kFlags, std::memory_order_acquire) & ring_event::kFlagsMask;
    if (flags == ring_event::kDisable) {
        return false;
    }
    if (flags == ring_event::kDesc && event_idx_) {
        return passed(size_, old, next_avail_,
                      load16(device_event_ + kOffWrap, std::memory_order_relaxed));
    }
    return true;
}

uint16_t PackedDriverRing::load_flags(uint16_t slot) const noexcept {
    return load16(&desc_[slot].flags, std::memory_order_acquire);
}

bool PackedDriverRing::has_used() const noexcept {
    const uint16_t flags = load_flags(next_used_.index);
    const bool avail = (flags & desc_flags::kAvail) != 0;
    const bool used = (flags & desc_flags::kUsed) != 0;
    return avail == next_used_.wrap && used == next_used_.wrap;
}

Result<size_t> PackedDriverRing::poll(std::span<UsedEntry> out) noexcept {
    if (broken_ != nullptr) [[unlikely]] {
        return make_error(EPROTO, "virtqueue is broken: {}", broken_);
    }
    size_t n = 0;
    while (n < out.size() && has_used()) {
        // The acquire in has_used() orders these reads after the device's flags write.
        PackedDesc d;
        std::memcpy(&d, &desc_[next_used_.index], sizeof(d));
        if (d.id >= size_ || ids_[d.id].slots == 0) [[unlikely]] {
            broken_ = "device returned a buffer ID that is not in flight";
            return make_error(EPROTO, "used descriptor at slot {} names buffer {}, not in flight",
                              next_used_.index, d.id);
        }
        IdState& state = ids_[d.id];
        // 2.8.4: the length is meaningful only with WRITE.
        const uint32_t len = (d.flags & desc_flags::kWrite) != 0 ? d.len : 0;
        out[n++] = UsedEntry{state.cookie, len, d.id};
        // 2.8.6: skip the rest of the buffer's list.
        advance(next_used_, state.slots);
        free_slots_ = static_cast<uint16_t>(free_slots_ + state.slots);
        state.slots = 0;
        free_ids_.push_back(d.id);
        --in_flight_;
    }
    if (n != 0 && event_idx_ && interrupts_) {
        // 2.8.10: ask for an interrupt when the next used descriptor is written.
        set_driver_event(static_cast<uint16_t>(next_used_.index | (next_used_.wrap ? 0x8000 : 0)),
                         ring_event::kDesc);
        std::atomic_thread_fence(std::memory_order_seq_cst);
    }
    return n;
}

void PackedDriverRing::disable_interrupts() noexcept {
    interrupts_ = false;
    store16(driver_event_ + kFlags, ring_event::kDisable, std::memory_order_relaxed);
}

bool PackedDriverRing::enable_interrupts() noexcept {
    interrupts_ = true;
    if (event_idx_) {
        set_driver_event(static_cast<uint16_t>(next_used_.index | (next_used_.wrap ? 0x8000 : 0)),
                         ring_event::kDesc);
    } else {
        store16(driver_event_ + kFlags, ring_event::kEnable, std::memory_order_release);
    }
    // The device may have used a buffer before it saw the re-enable: look again after a full
    // barrier.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return has_used();
}

void PackedDriverRing::write_desc(uint16_t slot, const PackedDesc& desc) const noexcept {
    PackedDesc& d = desc_[slot % size_];
    d.addr = desc.addr;
    d.len = desc.len;
    d.id = desc.id;
    store16(&d.flags, desc.flags, std::memory_order_release);
}

PackedDesc PackedDriverRing::read_desc(uint16_t slot) const noexcept {
    PackedDesc d;
    std::memcpy(&d, &desc_[slot % size_], sizeof(d));
    return d;
}

void PackedDriverRing::set_driver_event(uint16_t off_wrap, uint16_t flags) const noexcept {
    store16(driver_event_ + kOffWrap, off_wrap, std::memory_order_relaxed);
    store16(driver_event_ + kFlags, flags, std::memory_order_release);
}

virtio::EventSuppress PackedDriverRing::device_event() const noexcept {
    return virtio::EventSuppress{load16(device_event_ + kOffWrap, std::memory_order_relaxed),
                                 load16(device_event_ + kFlags, std::memory_order_acquire)};
}

}  // namespace vhostd::frontend

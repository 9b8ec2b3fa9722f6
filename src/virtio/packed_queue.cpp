// PackedQueue: descriptor ring access with the memory ordering of spec 2.8.
#include "virtio/packed_queue.hpp"

#include <atomic>
#include <cstring>

#include "base/log.hpp"

namespace vhostd::virtio {
namespace {

// Ring fields live in guest memory the driver writes concurrently; they are accessed as
// atomics (the transport checked the 16-byte alignment of the ring and 4 of the event areas).
uint16_t load16(const void* p, std::memory_order order = std::memory_order_relaxed) {
    return std::atomic_ref<uint16_t>(*static_cast<uint16_t*>(const_cast<void*>(p))).load(order);
}
void store16(void* p, uint16_t v, std::memory_order order = std::memory_order_relaxed) {
    std::atomic_ref<uint16_t>(*static_cast<uint16_t*>(p)).store(v, order);
}
void store32(void* p, uint32_t v) {
    std::atomic_ref<uint32_t>(*static_cast<uint32_t*>(p)).store(v, std::memory_order_relaxed);
}

constexpr size_t kEventOffWrap = 0;
constexpr size_t kEventFlags = 2;

// 2.8.1: available when AVAIL matches the driver's wrap counter and USED does not.
bool is_available(uint16_t flags, bool wrap) {
    const bool avail = (flags & desc_flags::kAvail) != 0;
    const bool used = (flags & desc_flags::kUsed) != 0;
    return avail == wrap && used != wrap;
}

}  // namespace

PackedQueue::PackedQueue(const PackedRing& ring, const guest_memory::GuestMemory& memory,
                         Options options)
    : ring_(static_cast<PackedDesc*>(ring.desc)),
      driver_event_(static_cast<uint8_t*>(ring.driver_event)),
      device_event_(static_cast<uint8_t*>(ring.device_event)),
      size_(ring.size),
      memory_(&memory),
      event_idx_(options.event_idx),
      indirect_(options.indirect),
      avail_(options.base.avail),
      used_(options.base.used),
      published_(options.base.used),
      shadow_(size_t{ring.size} * 2),
      buffers_(ring.size) {
    // 2.8: up to 2^15 entries; the transport refuses other sizes.
    if (size_ == 0 || size_ > kMaxPackedQueueSize) {
        mark_broken("packed queue size out of range");
        return;
    }
    // SET_VRING_BASE's slots index the ring (2.8.1).
    if (avail_.index >= size_ || used_.index >= size_) {
        mark_broken("packed ring base outside the ring");
        return;
    }
    if (options.log != nullptr) {
        // The ring was translated from this memory, so both lookups succeed.
        const auto desc = memory.gpa_of(ring_, size_t{size_} * sizeof(PackedDesc));
        const auto event = memory.gpa_of(device_event_, kEventSuppressBytes);
        if (!desc || !event) {
            mark_broken("packed ring outside the guest memory it was translated in");
            return;
        }
        log_ = options.log;
        desc_log_gpa_ = *desc;
        device_event_log_gpa_ = *event;
    }
    if (options.inflight) {
        auto attached = PackedInflight::attach(options.inflight, size_, ring_, options.base);
        if (!attached) {
            LOG_RATELIMITED(virtio, err, "queue {}: inflight region rejected: {}",
                            options.inflight.queue, attached.error().describe());
            mark_broken("inflight region rejected");
            return;
        }
        inflight_ = std::move(*attached);
        // The inflight region knows better than the frontend where the ring stands (QEMU
        // cannot read it back from a packed ring after a crash), and which buffers were in
        // flight: those are handed out again first, in the order they were fetched.
        const PackedBase base = inflight_->base();
        avail_ = base.avail;
        used_ = base.used;
        published_ = used_;
        const auto descs = inflight_->resubmit_descs();
        recovered_.assign(descs.begin(), descs.end());
        for (const PackedInflight::Resubmit& r : inflight_->resubmit()) {
            buffers_[r.id] = Buffer{r.first, r.num, true, true};
            resubmit_.push_back(r.id);
        }
        if (!resubmit_.empty()) {
            disarm_stale_used(base);
        }
    }
}

void PackedQueue::disarm_stale_used(PackedBase base) {
    // A device that died between writing a batch's later used descriptors and its first one's
    // flags (2.8.9's order) left those later slots marked used in this lap. The driver does not
    // read them yet, but once the restarted device publishes the slot before them with a list
    // of another length, the driver walks onto them and takes a stale completion for a buffer
    // that is still in flight here. The slots from used to avail belong to the device (2.8.6:
    // made available, not yet used), so they are written back as "available, not used" in
    // their lap; their descriptors were recovered from the inflight region, not from here.
    PackedPosition p = base.used;
    for (uint32_t k = 0; k < size_ && p != base.avail; ++k, p = p.advanced(1, size_)) {
        const auto flags = static_cast<uint16_t>(p.wrap ? desc_flags::kAvail : desc_flags::kUsed);
        store16(&ring_[p.index].flags, flags, std::memory_order_release);
        log_desc(p.index);
    }
}

PackedQueue::~PackedQueue() = default;

bool PackedQueue::next_available() const {
    return is_available(load16(&ring_[avail_.index].flags, std::memory_order_acquire), avail_.wrap);
}

bool PackedQueue::fetch(uint32_t batch_slots, uint16_t& id) {
    // Acquire: the list's other descriptors, written before this flag (2.8.21.1), are visible.
    const uint16_t first_flags = load16(&ring_[avail_.index].flags, std::memory_order_acquire);
    if (!is_available(first_flags, avail_.wrap)) {
        return false;
    }
    // Each descriptor is copied once into shadow_ (never wrapped there, so a list is
    // contiguous); the walk and the inflight record use the copy.
    const uint32_t first = avail_.index;
    PackedPosition pos = avail_;
    uint16_t n = 0;
    for (;;) {
        // 2.8.17: a list is at most the queue size long; so is one batch, or its copies would
        // overlap in shadow_.
        if (n == size_) {
            mark_broken("descriptor list longer than the queue size");
            return false;
        }
        if (batch_slots + n + 1 > size_) {
            return false;  // the list stays in the ring for the next take()
        }
        PackedDesc& copy = shadow_[first + n];
        std::memcpy(&copy, &ring_[pos.index], sizeof(copy));
        if (n == 0) {
            copy.flags = first_flags;  // the value the acquire saw, not a second read
        }
        ++n;
        pos = pos.advanced(1, size_);
        if ((copy.flags & desc_flags::kNext) == 0) {
            break;
        }
    }
    // 2.8.6: the buffer ID is in the list's last descriptor. IDs index the device's per-buffer
    // state, so they must be below the queue size, and one in flight is not made available
    // again until the device has used it (2.8.16).
    id = shadow_[first + n - 1].id;
    if (id >= size_ || buffers_[id].in_flight) {
        mark_broken(to_string(ChainError::bad_buffer_id));
        return false;
    }
    if (inflight_ && !inflight_->mark(id, std::span(shadow_).subspan(first, n))) {
        mark_broken("inflight region has no room for the buffer");
        return false;
    }
    buffers_[id] = Buffer{first, n, true, false};
    avail_ = pos;
    return true;
}

size_t PackedQueue::take(std::span<uint32_t> ids) {
    size_t taken = 0;
    while (taken < ids.size() && resubmit_next_ < resubmit_.size()) {
        ids[taken++] = resubmit_[resubmit_next_++];
    }
    uint32_t batch_slots = 0;
    while (taken < ids.size() && !broken()) {
        uint16_t id = 0;
        if (!fetch(batch_slots, id)) {
            break;
        }
        batch_slots += buffers_[id].num;
        ids[taken++] = id;
    }
    return taken;
}

DescriptorChain PackedQueue::walk(uint16_t id, const ChainLimits& limits,
                                  std::span<iovec> storage) {
    if (id >= size_ || !buffers_[id].in_flight) {
        DescriptorChain chain;
        chain.head = id;
        chain.error = ChainError::bad_buffer_id;
        mark_broken(to_string(chain.error));
        return chain;
    }
    const Buffer& b = buffers_[id];
    const std::span<const PackedDesc> descs =
        b.recovered ? std::span<const PackedDesc>(recovered_).subspan(b.first, b.num)
                    : std::span<const PackedDesc>(shadow_).subspan(b.first, b.num);
    DescriptorChain chain = walk_packed_chain(descs, id, *memory_, limits, indirect_, storage);
    if (is_ring_error(chain.error)) {
        mark_broken(to_string(chain.error));
    }
    return chain;
}

void PackedQueue::push_used(uint16_t id, uint32_t written) {
    if (id >= size_ || !buffers_[id].in_flight) [[unlikely]] {
        mark_broken("a buffer that is not in flight completed");
        return;
    }
    Buffer& b = buffers_[id];
    PackedDesc* slot = &ring_[used_.index];
    // 2.8.4 / 2.8.3: a used descriptor carries the buffer ID and the bytes written, with WRITE
    // set when there are any.
    store16(&slot->id, id);
    store32(&slot->len, written);
    // "Migration": the slot's page is in the log before its flags publish it (below, or in
    // publish_used for the batch's first).
    log_desc(used_.index);
    const auto flags =
        static_cast<uint16_t>((used_.wrap ? desc_flags::kAvail | desc_flags::kUsed : 0) |
                              (written != 0 ? desc_flags::kWrite : 0));
    if (pending_ == 0) {
        // The batch's first descriptor becomes used last, exposing the whole batch at once
        // (2.8.9; the driver polls only the next slot: 2.8.2).
        batch_first_ = used_.index;
        batch_first_flags_ = flags;
    } else {
        store16(&slot->flags, flags, std::memory_order_release);
    }
    if (inflight_) {
        inflight_->used(id);
    }
    // 2.8.6: the device skips the rest of the buffer's list.
    used_ = used_.advanced(b.num, size_);
    b.in_flight = false;
    ++pending_;
}

bool PackedQueue::publish_used() {
    if (pending_ == 0) {
        return false;
    }
    const PackedPosition old = published_;
    if (inflight_) {
        inflight_->before_publish(used_);
    }
    // Release: the batch's ids, lengths and other flags are visible before its first flags.
    store16(&ring_[batch_first_].flags, batch_first_flags_, std::memory_order_release);
    if (inflight_) {
        inflight_->published(used_);
    }
    published_ = used_;
    pending_ = 0;
    // The flags store must be ordered before reading the driver's suppression state, or an
    // interrupt the driver is just asking for could be missed (2.8.21.3).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return driver_wants_interrupt(old);
}

bool PackedQueue::driver_wants_interrupt(PackedPosition old) const {
    // Acquire: a DESC request's off_wrap, written before its flags, is read after them.
    const uint16_t flags =
        load16(driver_event_ + kEventFlags, std::memory_order_acquire) & ring_event::kFlagsMask;
    if (flags == ring_event::kDisable) {
        return false;
    }
    // DESC is only defined with EVENT_IDX; reserved values interrupt (a missed interrupt
    // hangs the driver, a spurious one costs little).
    if (flags != ring_event::kDesc || !event_idx_) {
        return true;
    }
    // 2.8.10: interrupt if the used descriptors written since `old` reached the event
    // descriptor (offset and wrap counter). Positions are made linear over the last lap.
    const PackedPosition event = PackedPosition::decode(load16(driver_event_ + kEventOffWrap));
    const int32_t now = used_.index;
    const int32_t before = old.index - (old.wrap != used_.wrap ? int32_t{size_} : 0);
    const int32_t target = event.index - (event.wrap != used_.wrap ? int32_t{size_} : 0);
    return static_cast<uint16_t>(now - target - 1) < static_cast<uint16_t>(now - before);
}

bool PackedQueue::enable_notifications() {
    if (event_idx_) {
        // 2.8.10: kick us once the driver makes the next descriptor available.
        store16(device_event_ + kEventOffWrap, avail_.encode());
        store16(device_event_ + kEventFlags, ring_event::kDesc, std::memory_order_release);
    } else {
        store16(device_event_ + kEventFlags, ring_event::kEnable, std::memory_order_release);
    }
    log_device_event();
    // Make the request visible before looking at the ring again: either we see new work now,
    // or the driver sees our request and kicks.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return resubmit_next_ < resubmit_.size() || (!broken() && next_available());
}

void PackedQueue::disable_notifications() {
    store16(device_event_ + kEventFlags, ring_event::kDisable);
    log_device_event();
}

}  // namespace vhostd::virtio

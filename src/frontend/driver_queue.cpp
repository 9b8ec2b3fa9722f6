// DriverQueue: split-ring driver mechanics. Ring fields shared with the device are accessed
// through std::atomic_ref so the publish/harvest orderings of 2.7.13 are explicit.
#include "frontend/driver_queue.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>

#include <poll.h>

#include "base/event_fd.hpp"

namespace vhostd::frontend {

namespace {

using virtio::VringDesc;
namespace desc_flags = virtio::desc_flags;

constexpr uint64_t kFlags = 0;
constexpr uint64_t kIdx = 2;
constexpr uint64_t kRing = 4;

uint16_t load(uint16_t* p, std::memory_order order) {
    return std::atomic_ref(*p).load(order);
}
void store(uint16_t* p, uint16_t v, std::memory_order order) {
    std::atomic_ref(*p).store(v, order);
}

}  // namespace

Result<DriverQueue> DriverQueue::create(GuestRam& ram, const Options& options) {
    if (options.packed) {
        DriverQueue q;
        q.packed_ = std::make_unique<PackedDriverRing>(
            VHOSTD_TRY(PackedDriverRing::create(ram, {.size = options.size,
                                                      .event_idx = options.event_idx,
                                                      .indirect_max = options.indirect_max})));
        q.size_ = options.size;
        q.event_idx_ = options.event_idx;
        q.indirect_max_ = options.indirect_max;
        const PackedDriverRing& r = *q.packed_;
        q.desc_ = reinterpret_cast<VringDesc*>(r.desc_ring());
        q.avail_ = ram.host(r.driver_event_gpa());
        q.used_ = ram.host(r.device_event_gpa());
        q.desc_gpa_ = r.desc_gpa();
        q.avail_gpa_ = r.driver_event_gpa();
        q.used_gpa_ = r.device_event_gpa();
        q.kick_fd_ = VHOSTD_TRY(make_event_fd());
        q.call_fd_ = VHOSTD_TRY(make_event_fd());
        return q;
    }
    // 2.7: queue size is a power of two, at most 32768.
    if (options.size == 0 || !std::has_single_bit(options.size) ||
        options.size > virtio::kMaxQueueSize) {
        return make_error(EINVAL, "queue size {} is not a power of two <= {}", options.size,
                          virtio::kMaxQueueSize);
    }
    DriverQueue q;
    q.size_ = options.size;
    q.event_idx_ = options.event_idx;
    q.indirect_max_ = options.indirect_max;

    const GuestBuffer desc = VHOSTD_TRY(ram.alloc(virtio::desc_table_bytes(q.size_), 4096));
    const GuestBuffer avail = VHOSTD_TRY(ram.alloc(virtio::avail_ring_bytes(q.size_), 64));
    const GuestBuffer used = VHOSTD_TRY(ram.alloc(virtio::used_ring_bytes(q.size_), 4096));
    for (const GuestBuffer& b : {desc, avail, used}) {
        std::memset(b.host, 0, b.size);
    }
    q.desc_ = reinterpret_cast<VringDesc*>(desc.host);
    q.avail_ = avail.host;
    q.used_ = used.host;
    q.desc_gpa_ = desc.gpa;
    q.avail_gpa_ = avail.gpa;
    q.used_gpa_ = used.gpa;
    if (q.indirect_max_ != 0) {
        const uint64_t bytes = uint64_t{q.size_} * q.indirect_max_ * sizeof(VringDesc);
        const GuestBuffer table = VHOSTD_TRY(ram.alloc(bytes, 64));
        q.indirect_ = reinterpret_cast<VringDesc*>(table.host);
        q.indirect_gpa_ = table.gpa;
    }

    q.next_free_.resize(q.size_);
    for (uint16_t i = 0; i < q.size_; ++i) {
        q.next_free_[i] = static_cast<uint16_t>(i + 1);
    }
    q.heads_.resize(q.size_);
    q.num_free_ = q.size_;
    q.kick_fd_ = VHOSTD_TRY(make_event_fd());
    q.call_fd_ = VHOSTD_TRY(make_event_fd());
    return q;
}

std::optional<uint16_t> DriverQueue::add(std::span<const Segment> segments, uint64_t cookie,
                                         bool indirect) noexcept {
    if (packed_) {
        return packed_->add(segments, cookie, indirect);
    }
    const size_t n = segments.size();
    if (n == 0 || num_free_ == 0) {
        return std::nullopt;
    }
    const uint16_t head = free_head_;
    HeadState& state = heads_[head];
    if (indirect) {
        if (n > indirect_max_) {
            return std::nullopt;
        }
        // 2.7.5.3: the table is a chain of its own, indices relative to the table.
        VringDesc* table = indirect_ + size_t{head} * indirect_max_;
        for (size_t i = 0; i < n; ++i) {
            const bool more = i + 1 < n;
            table[i] = VringDesc{
                segments[i].gpa, segments[i].len,
                static_cast<uint16_t>((segments[i].device_writable ? desc_flags::kWrite : 0) |
                                      (more ? desc_flags::kNext : 0)),
                static_cast<uint16_t>(more ? i + 1 : 0)};
        }
        // 2.7.5.3.1: the indirect descriptor itself carries neither NEXT nor WRITE.
        desc_[head] =
            VringDesc{indirect_gpa_ + uint64_t{head} * indirect_max_ * sizeof(VringDesc),
                      static_cast<uint32_t>(n * sizeof(VringDesc)), desc_flags::kIndirect, 0};
        free_head_ = next_free_[head];
        state = {cookie, head, 1};
        --num_free_;
    } else {
        if (n > num_free_) {
            return std::nullopt;
        }
        uint16_t idx = head;
        uint16_t last = head;
        for (size_t i = 0; i < n; ++i) {
            const bool more = i + 1 < n;
            const uint16_t next = next_free_[idx];
            desc_[idx] = VringDesc{
                segments[i].gpa, segments[i].len,
                static_cast<uint16_t>((segments[i].device_writable ? desc_flags::kWrite : 0) |
                                      (more ? desc_flags::kNext : 0)),
                more ? next : uint16_t{0}};
            last = idx;
            idx = next;
        }
        free_head_ = idx;
        state = {cookie, last, static_cast<uint16_t>(n)};
        num_free_ = static_cast<uint16_t>(num_free_ - n);
    }
    ++in_flight_;
    push_avail_raw(head);
    return head;
}

void DriverQueue::push_avail_raw(uint16_t head) noexcept {
    set_avail_entry(shadow_avail_, head);
    ++shadow_avail_;
}

bool DriverQueue::publish() noexcept {
    if (packed_) {
        return packed_->publish();
    }
    if (shadow_avail_ == published_avail_) {
        return false;
    }
    const uint16_t old_idx = published_avail_;
    const uint16_t new_idx = shadow_avail_;
    // 2.7.13.3: ring entries before the index that exposes them.
    store(avail_field(kIdx), new_idx, std::memory_order_release);
    published_avail_ = new_idx;
    // 2.7.13.4: the index store must be visible before we read the device's suppression
    // state, or a device that just re-enabled kicks could miss this batch.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (event_idx_) {
        return virtio::need_event(avail_event(), new_idx, old_idx);  // 2.7.10
    }
    return (used_flags() & virtio::kUsedFlagNoNotify) == 0;  // 2.7.7
}

void DriverQueue::kick() const noexcept {
    signal_event_fd(kick_fd_.get());
}

bool DriverQueue::publish_and_kick() noexcept {
    if (publish()) {
        kick();
        return true;
    }
    return false;
}

bool DriverQueue::has_used() const noexcept {
    if (packed_) {
        return packed_->has_used();
    }
    return load(used_field(kIdx), std::memory_order_acquire) != last_used_;
}

Result<size_t> DriverQueue::poll(std::span<UsedEntry> out) noexcept {
    if (packed_) {
        return packed_->poll(out);
    }
    if (broken_ != nullptr) [[unlikely]] {
        return make_error(EPROTO, "virtqueue is broken: {}", broken_);
    }
    // Acquire pairs with the device's release of used->idx: elements are read after it.
    const uint16_t used = load(used_field(kIdx), std::memory_order_acquire);
    const uint16_t pending = static_cast<uint16_t>(used - last_used_);
    if (pending > in_flight_) [[unlikely]] {
        broken_ = "device moved used->idx past the buffers in flight";
        return make_error(EPROTO, "used->idx {} is {} ahead of {} with {} in flight", used, pending,
                          last_used_, in_flight_);
    }
    const size_t n = std::min<size_t>(pending, out.size());
    const uint16_t mask = static_cast<uint16_t>(size_ - 1);
    for (size_t i = 0; i < n; ++i) {
        virtio::VringUsedElem elem;
        std::memcpy(&elem, used_ + kRing + sizeof(elem) * (last_used_ & mask), sizeof(elem));
        if (elem.id >= size_ || heads_[elem.id].count == 0) [[unlikely]] {
            broken_ = "device returned a head that is not in flight";
            return make_error(EPROTO, "used element {} names head {}, not in flight", last_used_,
                              elem.id);
        }
        HeadState& state = heads_[elem.id];
        // Splice the chain back: its private links are still the free-list order it was
        // taken in.
        next_free_[state.tail] = free_head_;
        free_head_ = static_cast<uint16_t>(elem.id);
        num_free_ = static_cast<uint16_t>(num_free_ + state.count);
        state.count = 0;
        --in_flight_;
        ++last_used_;
        out[i] = UsedEntry{state.cookie, elem.len, static_cast<uint16_t>(elem.id)};
    }
    if (n != 0 && event_idx_ && interrupts_) {
        // 2.7.10: ask for an interrupt at the next used element.
        store(avail_field(kRing + 2 * uint64_t{size_}), last_used_, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);
    }
    return n;
}

void DriverQueue::disable_interrupts() noexcept {
    if (packed_) {
        packed_->disable_interrupts();
        return;
    }
    interrupts_ = false;
    if (event_idx_) {
        // 2.7.10: an event index just behind us is crossed only after 65535 more elements.
        // (With EVENT_IDX the driver must leave avail->flags at 0: 2.7.7.2.)
        set_used_event(static_cast<uint16_t>(last_used_ - 1));
    } else {
        set_avail_flags(virtio::kAvailFlagNoInterrupt);
    }
}

bool DriverQueue::enable_interrupts() noexcept {
    if (packed_) {
        return packed_->enable_interrupts();
    }
    interrupts_ = true;
    if (event_idx_) {
        set_used_event(last_used_);
    } else {
        set_avail_flags(0);
    }
    // The device may have used a buffer before it saw the re-enable: re-check after a full
    // barrier (2.7.13.4's mirror image).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return has_used();
}

Result<void> DriverQueue::wait(std::chrono::milliseconds timeout) noexcept {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (has_used() || enable_interrupts()) {
            return {};
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd pfd{call_fd_.get(), POLLIN, 0};
        const int r = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
        if (r == 0) {
            if (has_used()) {
                return {};
            }
            return make_error(ETIMEDOUT, "no used buffers within {} ms", timeout.count());
        }
        if (r < 0 && errno != EINTR) {
            return errno_error("poll(call eventfd)");
        }
        drain_event_fd(call_fd_.get());
    }
}

void DriverQueue::write_desc(uint16_t index, const VringDesc& desc) const noexcept {
    desc_[index % size_] = desc;
}

void DriverQueue::set_avail_entry(uint16_t slot, uint16_t head) const noexcept {
    store(avail_field(kRing + 2 * uint64_t{static_cast<uint16_t>(slot & (size_ - 1))}), head,
          std::memory_order_relaxed);
}

void DriverQueue::set_avail_idx(uint16_t idx) noexcept {
    store(avail_field(kIdx), idx, std::memory_order_release);
    shadow_avail_ = idx;
    published_avail_ = idx;
}

uint16_t DriverQueue::avail_idx() const noexcept {
    return load(avail_field(kIdx), std::memory_order_relaxed);
}

void DriverQueue::set_avail_flags(uint16_t flags) const noexcept {
    store(avail_field(kFlags), flags, std::memory_order_relaxed);
}

void DriverQueue::set_used_event(uint16_t value) const noexcept {
    store(avail_field(kRing + 2 * uint64_t{size_}), value, std::memory_order_relaxed);
}

uint16_t DriverQueue::used_flags() const noexcept {
    return load(used_field(kFlags), std::memory_order_relaxed);
}

uint16_t DriverQueue::used_idx() const noexcept {
    return load(used_field(kIdx), std::memory_order_acquire);
}

uint16_t DriverQueue::avail_event() const noexcept {
    return load(used_field(kRing + 8 * uint64_t{size_}), std::memory_order_relaxed);
}

virtio::VringUsedElem DriverQueue::used_elem(uint16_t slot) const noexcept {
    virtio::VringUsedElem elem;
    std::memcpy(&elem, used_ + kRing + sizeof(elem) * (slot & (size_ - 1)), sizeof(elem));
    return elem;
}

size_t DriverQueue::poll_raw(std::span<virtio::VringUsedElem> out) noexcept {
    const uint16_t used = used_idx();
    size_t n = 0;
    while (n < out.size() && last_used_ != used) {
        out[n++] = used_elem(last_used_++);
    }
    return n;
}

}  // namespace vhostd::frontend

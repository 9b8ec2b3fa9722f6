// SplitQueue: avail/used ring access with the memory ordering the virtio model requires.
#include "virtio/split_queue.hpp"

#include <atomic>

#include "base/log.hpp"

namespace vhostd::virtio {
namespace {

// Ring fields live in guest memory the driver writes concurrently; access them as atomics.
// The transport checked their alignment (2.7: avail 2, used 4).
uint16_t load16(const uint8_t* p, std::memory_order order = std::memory_order_relaxed) {
    return std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(const_cast<uint8_t*>(p)))
        .load(order);
}
void store16(uint8_t* p, uint16_t v, std::memory_order order = std::memory_order_relaxed) {
    std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(p)).store(v, order);
}
void store32(uint8_t* p, uint32_t v) {
    std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(p)).store(v, std::memory_order_relaxed);
}

// Byte offsets inside the rings.
constexpr size_t kFlags = 0;
constexpr size_t kIdx = 2;
constexpr size_t kRing = 4;
constexpr size_t kUsedElemSize = 8;

}  // namespace

SplitQueue::SplitQueue(const SplitRing& ring, const guest_memory::GuestMemory& memory,
                       Options options)
    : desc_{ring.desc, ring.size},
      avail_(static_cast<uint8_t*>(ring.avail)),
      used_(static_cast<uint8_t*>(ring.used)),
      size_(ring.size),
      memory_(&memory),
      event_idx_(options.event_idx),
      indirect_(options.indirect),
      last_avail_idx_(options.last_avail_idx),
      // The used index is device-owned: continue from what the driver last saw.
      used_idx_(load16(used_ + kIdx)),
      published_used_idx_(used_idx_),
      log_(options.log),
      used_log_gpa_(options.used_log_gpa) {
    shadow_avail_idx_ = last_avail_idx_;
    // Index masking below relies on this; the transport already refuses other sizes.
    if (size_ == 0 || (size_ & (size_ - 1)) != 0) {
        mark_broken("queue size is not a power of two");
        return;
    }
    if (options.inflight) {
        auto attached =
            SplitInflight::attach(options.inflight, size_, used_idx_, options.last_avail_idx);
        if (!attached) {
            LOG_RATELIMITED(virtio, err, "queue {}: inflight region rejected: {}",
                            options.inflight.queue, attached.error().describe());
            mark_broken("inflight region rejected");
            return;
        }
        inflight_ = std::move(*attached);
        // After a crash the frontend can only guess the avail index (QEMU sends used->idx);
        // the slice knows how many requests past used->idx were fetched.
        last_avail_idx_ = inflight_->last_avail_idx();
        shadow_avail_idx_ = last_avail_idx_;
        const auto heads = inflight_->resubmit();
        resubmit_.assign(heads.begin(), heads.end());
    }
}

SplitQueue::~SplitQueue() = default;

uint16_t SplitQueue::read_avail_idx() const {
    // Acquire: the ring entries and descriptors the driver wrote before bumping idx are visible.
    return load16(avail_ + kIdx, std::memory_order_acquire);
}

uint16_t SplitQueue::available() {
    if (broken()) {
        return 0;
    }
    const uint16_t avail_idx = read_avail_idx();
    const uint16_t count = avail_idx - last_avail_idx_;
    // 2.7.6: the driver cannot have more than queue-size buffers outstanding.
    if (count > size_) {
        mark_broken("avail index moved more than the queue size");
        return 0;
    }
    shadow_avail_idx_ = avail_idx;
    return count;
}

std::optional<uint16_t> SplitQueue::pop() {
    if (last_avail_idx_ == shadow_avail_idx_ && available() == 0) {
        return std::nullopt;
    }
    const uint16_t head =
        load16(avail_ + kRing + 2 * size_t{uint16_t(last_avail_idx_ & (size_ - 1))});
    // 2.7.6: a ring entry is the head of a descriptor chain, so it indexes the table.
    if (head >= size_) {
        mark_broken("avail ring entry out of range");
        return std::nullopt;
    }
    ++last_avail_idx_;
    return head;
}

size_t SplitQueue::take(std::span<uint32_t> heads) {
    size_t taken = 0;
    while (taken < heads.size() && resubmit_next_ < resubmit_.size()) {
        heads[taken++] = resubmit_[resubmit_next_++];
    }
    while (taken < heads.size()) {
        const std::optional<uint16_t> head = pop();
        if (!head) {
            break;
        }
        // Recorded before the device sees it, in fetch order (inflight_split.cpp).
        if (inflight_ && !inflight_->mark(*head)) {
            mark_broken("head made available again while in flight");
            break;
        }
        prefetch(*head);
        heads[taken++] = *head;
    }
    return taken;
}

DescriptorChain SplitQueue::walk(uint16_t head, const ChainLimits& limits,
                                 std::span<iovec> storage) {
    DescriptorChain chain = walk_chain(desc_, head, *memory_, limits, indirect_, storage);
    if (is_ring_error(chain.error)) {
        mark_broken(to_string(chain.error));
    }
    return chain;
}

void SplitQueue::push_used(uint16_t head, uint32_t written) {
    const size_t offset = kRing + kUsedElemSize * (used_idx_ & (size_ - 1));
    uint8_t* elem = used_ + offset;
    store32(elem, head);
    store32(elem + 4, written);
    log_used(offset, kUsedElemSize);
    ++used_idx_;
    if (inflight_) {
        inflight_->used(head);
    }
}

bool SplitQueue::publish_used() {
    if (used_idx_ == published_used_idx_) {
        return false;
    }
    // "Migration": the index's page is in the log before the driver can see the index.
    log_used(kIdx, sizeof(uint16_t));
    // Release: the elements are visible before the index that exposes them (2.7.8).
    store16(used_ + kIdx, used_idx_, std::memory_order_release);
    published_used_idx_ = used_idx_;
    if (inflight_) {
        inflight_->published(used_idx_);
    }
    // The index store must be ordered before reading the driver's suppression state, or we
    // could miss an interrupt the driver is about to ask for (2.7.10).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!event_idx_) {
        return (load16(avail_ + kFlags) & kAvailFlagNoInterrupt) == 0;
    }
    const uint16_t used_event = load16(avail_ + kRing + 2 * size_t{size_});
    const uint16_t old = signalled_used_idx_;
    const bool first = !signalled_used_valid_;
    signalled_used_idx_ = used_idx_;
    signalled_used_valid_ = true;
    return first || need_event(used_event, used_idx_, old);
}

bool SplitQueue::enable_notifications() {
    if (event_idx_) {
        // avail_event: kick us once the avail index moves past what we have consumed.
        store16(used_ + kRing + kUsedElemSize * size_, last_avail_idx_);
        log_used(kRing + kUsedElemSize * size_, sizeof(uint16_t));
    } else {
        store16(used_ + kFlags, 0);
        log_used(kFlags, sizeof(uint16_t));
    }
    // Make the request visible before looking at the ring again: either we see new work
    // now, or the driver sees our request and kicks.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return resubmit_next_ < resubmit_.size() || available() != 0;
}

void SplitQueue::disable_notifications() {
    if (event_idx_) {
        // An event index just behind ours is only crossed after 64K more requests.
        store16(used_ + kRing + kUsedElemSize * size_, static_cast<uint16_t>(last_avail_idx_ - 1));
        log_used(kRing + kUsedElemSize * size_, sizeof(uint16_t));
    } else {
        store16(used_ + kFlags, kUsedFlagNoNotify);
        log_used(kFlags, sizeof(uint16_t));
    }
}

}  // namespace vhostd::virtio

// SplitInflight: the split layout's recording protocol and its recovery.
//
// Crash safety (vhost-user.rst's steps, each a release store: inflight_store.hpp):
//  - fetch: counter, then inflight = 1, before the request starts. A crash before the flag
//    leaves the head unrecorded; the restarted ring fetches it again, since its avail position
//    is recomputed as used->idx + the heads recorded (heads are recorded in fetch order).
//  - use: each used head is linked into the last-batch list (next, then last_batch_head)
//    while its used element is written; then used->idx is published (by the ring); then the
//    batch's flags are cleared; then the slice's used_idx catches up with used->idx. A crash
//    before used->idx moves: the batch is still in flight and is resubmitted (the driver
//    never saw it completed). A crash after it: used_idx lags used->idx by exactly the
//    batch's size, and recovery clears that many heads from last_batch_head on.
#include "virtio/inflight_split.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "spec/vhost_user_inflight.hpp"
#include "virtio/inflight_store.hpp"

namespace vhostd::virtio {

namespace inflight = vhost_user::inflight;
using inflight_store::put;

namespace {

using Header = inflight::SplitHeader;
using Entry = inflight::SplitDesc;

}  // namespace

SplitInflight::SplitInflight(InflightSlot slot, uint16_t size)
    : slot_(std::move(slot)),
      header_(slot_.base()),
      entries_(slot_.base() + sizeof(Header)),
      size_(size),
      in_flight_(size, 0),
      batch_(size) {}

Result<std::unique_ptr<SplitInflight>> SplitInflight::attach(const InflightSlot& slot,
                                                             uint16_t queue_size, uint16_t used_idx,
                                                             uint16_t frontend_base) {
    if (!slot || slot.region->layout() != InflightLayout::split ||
        slot.queue >= slot.region->num_queues()) {
        return make_error(EINVAL, "no split inflight slice for queue {}", slot.queue);
    }
    if (queue_size != slot.region->queue_size() || queue_size == 0) {
        return make_error(EINVAL, "inflight region made for queues of {} entries, the ring has {}",
                          slot.region->queue_size(), queue_size);
    }
    std::unique_ptr<SplitInflight> tracker(new SplitInflight(slot, queue_size));
    VHOSTD_TRY(tracker->recover(used_idx, frontend_base));
    if (tracker->faulted()) {
        return make_error(EFAULT, "the inflight region was cut off while it was read");
    }
    return tracker;
}

Result<void> SplitInflight::recover(uint16_t used_idx, uint16_t frontend_base) {
    Header h;
    std::memcpy(&h, header_, sizeof(h));
    const uint16_t n = size_;
    if (h.version == 0) {
        // New slice: no flag set, used_idx in step with the ring; the version last, so a crash
        // midway leaves it uninitialized.
        for (uint16_t i = 0; i < n; ++i) {
            put<uint8_t>(entries_ + size_t{i} * sizeof(Entry), offsetof(Entry, inflight), 0);
        }
        put<uint64_t>(header_, offsetof(Header, features), 0);
        put<uint16_t>(header_, offsetof(Header, desc_num), n);
        put<uint16_t>(header_, offsetof(Header, last_batch_head), 0);
        put<uint16_t>(header_, offsetof(Header, used_idx), used_idx);
        put<uint16_t>(header_, offsetof(Header, version), inflight::kVersion);
        last_avail_idx_ = frontend_base;
        return {};
    }
    if (h.version != inflight::kVersion || h.desc_num != n) {
        return make_error(EINVAL, "version {} with {} entries for a queue of {}", h.version,
                          h.desc_num, n);
    }
    std::vector<Entry> e(n);
    std::memcpy(e.data(), entries_, sizeof(Entry) * n);
    for (uint16_t i = 0; i < n; ++i) {
        if (e[i].inflight > 1) {
            return make_error(EINVAL, "entry {}: inflight flag {}", i, e[i].inflight);
        }
    }
    // 1. used->idx moved past the slice's used_idx: the last batch was published but maybe
    //    not cleared. It has (used->idx - used_idx) heads, listed from last_batch_head; a
    //    batch never holds more heads than the queue has.
    const auto batch = static_cast<uint16_t>(used_idx - h.used_idx);
    std::vector<uint8_t> cleared(n, 0);
    if (batch > n) {
        return make_error(EINVAL, "used->idx {} is {} ahead of the slice's {}", used_idx, batch,
                          h.used_idx);
    }
    uint32_t head = h.last_batch_head;
    for (uint16_t k = 0; k < batch; ++k) {
        if (head >= n || cleared[head] != 0) {
            return make_error(EINVAL, "last batch list broken at its entry {} ({})", k, head);
        }
        cleared[head] = 1;
        e[head].inflight = 0;
        head = e[head].next;
    }
    // 2. What is still flagged was fetched and not used: resubmit it in fetch order (counters
    //    are unique, or the order would be a guess).
    for (uint16_t i = 0; i < n; ++i) {
        if (e[i].inflight == 1) {
            resubmit_.push_back(i);
        }
    }
    std::sort(resubmit_.begin(), resubmit_.end(),
              [&](uint16_t a, uint16_t b) { return e[a].counter < e[b].counter; });
    for (size_t k = 0; k < resubmit_.size(); ++k) {
        // Counters beyond kMaxCounter were never counted to (inflight_store.hpp).
        if (e[resubmit_[k]].counter > inflight_store::kMaxCounter) {
            return make_error(EINVAL, "head {}: counter {} was never counted to", resubmit_[k],
                              e[resubmit_[k]].counter);
        }
        if (k > 0 && e[resubmit_[k - 1]].counter == e[resubmit_[k]].counter) {
            return make_error(EINVAL, "heads {} and {} share counter {}", resubmit_[k - 1],
                              resubmit_[k], e[resubmit_[k]].counter);
        }
    }
    for (uint16_t i : resubmit_) {
        in_flight_[i] = 1;
        counter_ = std::max(counter_, e[i].counter + 1);
    }
    last_avail_idx_ = static_cast<uint16_t>(used_idx + resubmit_.size());
    last_batch_head_ = h.last_batch_head < n ? h.last_batch_head : 0;

    // The recovered state back into the slice: the batch's cleared flags, then used_idx.
    for (uint16_t i = 0; i < n; ++i) {
        if (cleared[i] != 0) {
            put<uint8_t>(entries_ + size_t{i} * sizeof(Entry), offsetof(Entry, inflight), 0);
        }
    }
    put<uint16_t>(header_, offsetof(Header, used_idx), used_idx);
    return {};
}

bool SplitInflight::mark(uint16_t head) noexcept {
    if (head >= size_ || in_flight_[head] != 0 || counter_ > inflight_store::kMaxCounter) {
        return false;
    }
    uint8_t* entry = entries_ + size_t{head} * sizeof(Entry);
    put<uint64_t>(entry, offsetof(Entry, counter), counter_++);
    put<uint8_t>(entry, offsetof(Entry, inflight), 1);
    in_flight_[head] = 1;
    return true;
}

void SplitInflight::used(uint16_t head) noexcept {
    if (head >= size_ || batch_size_ == batch_.size()) {
        return;
    }
    put<uint16_t>(entries_ + size_t{head} * sizeof(Entry), offsetof(Entry, next), last_batch_head_);
    put<uint16_t>(header_, offsetof(Header, last_batch_head), head);
    last_batch_head_ = head;
    batch_[batch_size_++] = head;
}

void SplitInflight::published(uint16_t used_idx) noexcept {
    for (size_t k = 0; k < batch_size_; ++k) {
        const uint16_t head = batch_[k];
        put<uint8_t>(entries_ + size_t{head} * sizeof(Entry), offsetof(Entry, inflight), 0);
        in_flight_[head] = 0;
    }
    batch_size_ = 0;
    put<uint16_t>(header_, offsetof(Header, used_idx), used_idx);
}

}  // namespace vhostd::virtio

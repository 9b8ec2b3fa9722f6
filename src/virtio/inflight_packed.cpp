// PackedInflight: the packed layout's recording protocol and its recovery.
//
// Crash safety, in the terms of vhost-user.rst. The header's old_* fields describe the last
// state in which the slice was consistent; free_head / used_idx / used_wrap_counter run ahead
// of them while an update is in progress. Recovery rolls an unfinished update back to old_*,
// unless the ring shows that the driver was already given its result, in which case the
// update is committed:
//  - mark (a buffer fetched): entries are filled from old_free_head on, free_head moves, and
//    old_free_head follows only once the whole list is recorded. A crash before that rolls
//    free_head back; the half-recorded head is then on the free list, whose inflight flags
//    recovery clears, and the buffer is fetched from the ring again (the ring's avail position
//    is recomputed from what stays recorded).
//  - used (a batch made visible): the batch's lists go back on the free list and used_idx
//    moves (before_publish), then the ring's first flags are written (the batch is visible),
//    then the heads' inflight flags are cleared and old_* catch up (published). A crash before
//    the flags write leaves the descriptor at old_used_idx as the driver made it available:
//    recovery rolls back and the batch is resubmitted (its used descriptors were never seen).
//    After it, that descriptor is used (or already reused by the driver): recovery commits.
// Every store is a release store (inflight_store.hpp), so "before" above is program order.
#include "virtio/inflight_packed.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "spec/vhost_user_inflight.hpp"
#include "virtio/inflight_store.hpp"

namespace vhostd::virtio {

namespace inflight = vhost_user::inflight;
using inflight_store::get;
using inflight_store::put;

namespace {

using Header = inflight::PackedHeader;
using Entry = inflight::PackedDesc;

bool is_available(uint16_t flags, bool wrap) {
    return ((flags & desc_flags::kAvail) != 0) == wrap &&
           ((flags & desc_flags::kUsed) != 0) != wrap;
}

}  // namespace

PackedInflight::PackedInflight(InflightSlot slot, uint16_t size)
    : slot_(std::move(slot)),
      header_(slot_.base()),
      entries_(slot_.base() + sizeof(Header)),
      size_(size),
      next_(size),
      last_(size),
      num_(size),
      head_of_(size),
      batch_(size) {}

Result<std::unique_ptr<PackedInflight>> PackedInflight::attach(const InflightSlot& slot,
                                                               uint16_t queue_size,
                                                               const PackedDesc* ring,
                                                               PackedBase frontend_base) {
    if (!slot || slot.region->layout() != InflightLayout::packed ||
        slot.queue >= slot.region->num_queues()) {
        return make_error(EINVAL, "no packed inflight slice for queue {}", slot.queue);
    }
    if (queue_size != slot.region->queue_size() || queue_size == 0) {
        return make_error(EINVAL, "inflight region made for queues of {} entries, the ring has {}",
                          slot.region->queue_size(), queue_size);
    }
    std::unique_ptr<PackedInflight> tracker(new PackedInflight(slot, queue_size));
    VHOSTD_TRY(tracker->recover(ring, frontend_base));
    if (tracker->faulted()) {
        return make_error(EFAULT, "the inflight region was cut off while it was read");
    }
    return tracker;
}

void PackedInflight::initialize(PackedBase frontend_base) {
    // Entries first, the version last: a crash in between leaves an uninitialized slice.
    for (uint16_t i = 0; i < size_; ++i) {
        uint8_t* e = entries_ + size_t{i} * sizeof(Entry);
        put<uint8_t>(e, offsetof(Entry, inflight), 0);
        next_[i] = static_cast<uint16_t>(i + 1);  // size_ ends the list
        put<uint16_t>(e, offsetof(Entry, next), next_[i]);
    }
    put<uint64_t>(header_, offsetof(Header, features), 0);
    put<uint16_t>(header_, offsetof(Header, desc_num), size_);
    put<uint16_t>(header_, offsetof(Header, free_head), 0);
    put<uint16_t>(header_, offsetof(Header, old_free_head), 0);
    put<uint16_t>(header_, offsetof(Header, used_idx), frontend_base.used.index);
    put<uint16_t>(header_, offsetof(Header, old_used_idx), frontend_base.used.index);
    put<uint8_t>(header_, offsetof(Header, used_wrap_counter), frontend_base.used.wrap);
    put<uint8_t>(header_, offsetof(Header, old_used_wrap_counter), frontend_base.used.wrap);
    put<uint16_t>(header_, offsetof(Header, version), inflight::kVersion);
    free_head_ = 0;
    free_count_ = size_;
    base_ = frontend_base;
}

Result<void> PackedInflight::recover(const PackedDesc* ring, PackedBase frontend_base) {
    // One copy of the slice; everything below looks at the copy only.
    Header h;
    std::memcpy(&h, header_, sizeof(h));
    if (h.version == 0) {
        initialize(frontend_base);
        return {};
    }
    const uint16_t n = size_;
    if (h.version != inflight::kVersion || h.desc_num != n) {
        return make_error(EINVAL, "version {} with {} entries for a queue of {}", h.version,
                          h.desc_num, n);
    }
    // Lists end with an index >= desc_num; slots index the ring; wrap counters are bits.
    if (h.free_head > n || h.old_free_head > n || h.used_idx >= n || h.old_used_idx >= n ||
        h.used_wrap_counter > 1 || h.old_used_wrap_counter > 1) {
        return make_error(EINVAL, "header out of range (free {} / {}, used {} / {})", h.free_head,
                          h.old_free_head, h.used_idx, h.old_used_idx);
    }
    std::vector<Entry> e(n);
    std::memcpy(e.data(), entries_, sizeof(Entry) * n);

    PackedPosition used{h.used_idx, h.used_wrap_counter != 0};
    PackedPosition old_used{h.old_used_idx, h.old_used_wrap_counter != 0};
    uint16_t old_free_head = h.old_free_head;
    // 1. An update of the used side was in progress: was its batch made visible? The driver
    //    made the descriptor at old_used_idx available in the old_used_wrap_counter lap; if it
    //    no longer looks so, the device wrote its used flags: commit.
    if (used != old_used) {
        const uint16_t flags =
            std::atomic_ref<uint16_t>(const_cast<PackedDesc*>(ring)[old_used.index].flags)
                .load(std::memory_order_acquire);
        if (!is_available(flags, old_used.wrap)) {
            old_free_head = h.free_head;
            old_used = used;
        }
    }
    // 2. Roll back to the last consistent state.
    used = old_used;
    // 3. Entries on the free list are not in flight (bounded: a looping list just ends).
    std::vector<uint8_t> in_free(n, 0);
    for (uint32_t i = old_free_head, steps = 0; i < n && steps < n && in_free[i] == 0; ++steps) {
        in_free[i] = 1;
        e[i].inflight = 0;
        i = e[i].next;
    }
    // 4. The rest with inflight set are heads of buffers in flight: each list must be intact
    //    (its length, links and last entry as recorded, no entry shared or free), its buffer
    //    ID unique and in range, its counter unique (it orders resubmission).
    std::vector<uint16_t> heads;
    for (uint16_t i = 0; i < n; ++i) {
        if (in_free[i] != 0) {
            continue;
        }
        if (e[i].inflight > 1) {
            return make_error(EINVAL, "entry {}: inflight flag {}", i, e[i].inflight);
        }
        if (e[i].inflight == 1) {
            heads.push_back(i);
        }
    }
    std::sort(heads.begin(), heads.end(),
              [&](uint16_t a, uint16_t b) { return e[a].counter < e[b].counter; });
    std::vector<uint8_t> claimed(n, 0);
    std::vector<uint8_t> id_seen(n, 0);
    uint32_t total = 0;
    for (size_t k = 0; k < heads.size(); ++k) {
        const uint16_t head = heads[k];
        if (k > 0 && e[heads[k - 1]].counter == e[head].counter) {
            return make_error(EINVAL, "entries {} and {} share counter {}", heads[k - 1], head,
                              e[head].counter);
        }
        // Counters beyond kMaxCounter were never counted to (inflight_store.hpp).
        if (e[head].counter > inflight_store::kMaxCounter) {
            return make_error(EINVAL, "entry {}: counter {} was never counted to", head,
                              e[head].counter);
        }
        const uint16_t len = e[head].num;
        if (len == 0 || len > n - total) {
            return make_error(EINVAL, "entry {}: list of {} descriptors", head, len);
        }
        const auto first = static_cast<uint32_t>(resubmit_descs_.size());
        uint32_t j = head;
        for (uint16_t d = 0; d < len; ++d) {
            if (j >= n || in_free[j] != 0 || claimed[j] != 0) {
                return make_error(EINVAL, "entry {}: descriptor {} at a bad entry {}", head, d, j);
            }
            claimed[j] = 1;
            const bool more = (e[j].flags & desc_flags::kNext) != 0;
            if (more != (d + 1 < len)) {
                return make_error(EINVAL, "entry {}: NEXT flags disagree with its length", head);
            }
            resubmit_descs_.push_back(PackedDesc{e[j].addr, e[j].len, e[j].id, e[j].flags});
            if (d + 1 < len) {
                next_[j] = e[j].next;
                j = e[j].next;
            }
        }
        if (j != e[head].last) {
            return make_error(EINVAL, "entry {}: its list ends at {}, not at {}", head, j,
                              e[head].last);
        }
        const uint16_t id = resubmit_descs_.back().id;
        if (id >= n || id_seen[id] != 0) {
            return make_error(EINVAL, "entry {}: buffer ID {} out of range or repeated", head, id);
        }
        id_seen[id] = 1;
        last_[head] = static_cast<uint16_t>(j);
        num_[head] = len;
        head_of_[id] = head;
        resubmit_.push_back(Resubmit{id, len, first});
        counter_ = std::max(counter_, e[head].counter + 1);
        total += len;
    }
    base_ = PackedBase{used.advanced(total, n), used};

    // Write the recovered state back: first the cleared flags of step 3, then a fresh free
    // list of every entry not in flight (linked from the highest index down, so a crash
    // midway leaves only links between free entries), then the header, current fields before
    // old_* (each prefix of these stores recovers to the same state).
    for (uint16_t i = 0; i < n; ++i) {
        if (in_free[i] != 0) {
            put<uint8_t>(entries_ + size_t{i} * sizeof(Entry), offsetof(Entry, inflight), 0);
        }
    }
    uint16_t list = n;
    for (uint32_t i = n; i-- > 0;) {
        if (claimed[i] != 0) {
            continue;
        }
        uint8_t* entry = entries_ + size_t{i} * sizeof(Entry);
        put<uint8_t>(entry, offsetof(Entry, inflight), 0);
        put<uint16_t>(entry, offsetof(Entry, next), list);
        next_[i] = list;
        list = static_cast<uint16_t>(i);
        ++free_count_;
    }
    free_head_ = list;
    put<uint16_t>(header_, offsetof(Header, free_head), free_head_);
    put<uint16_t>(header_, offsetof(Header, used_idx), used.index);
    put<uint8_t>(header_, offsetof(Header, used_wrap_counter), used.wrap);
    put<uint16_t>(header_, offsetof(Header, old_free_head), free_head_);
    put<uint16_t>(header_, offsetof(Header, old_used_idx), used.index);
    put<uint8_t>(header_, offsetof(Header, old_used_wrap_counter), used.wrap);
    return {};
}

bool PackedInflight::mark(uint16_t id, std::span<const PackedDesc> descs) noexcept {
    if (descs.empty() || descs.size() > free_count_ || id >= size_ ||
        counter_ > inflight_store::kMaxCounter) {
        return false;
    }
    const uint16_t head = free_head_;
    uint8_t* h = entries_ + size_t{head} * sizeof(Entry);
    // The head entry first: a new list, in fetch order, in flight.
    put<uint16_t>(h, offsetof(Entry, num), 0);
    put<uint64_t>(h, offsetof(Entry, counter), counter_++);
    put<uint8_t>(h, offsetof(Entry, inflight), 1);
    uint16_t entry = head;
    uint16_t last = head;
    for (size_t k = 0; k < descs.size(); ++k) {
        const bool is_last = k + 1 == descs.size();
        if (is_last) {
            put<uint16_t>(h, offsetof(Entry, last), entry);
        }
        put<uint16_t>(h, offsetof(Entry, num), static_cast<uint16_t>(k + 1));
        uint8_t* slot = entries_ + size_t{entry} * sizeof(Entry);
        put<uint64_t>(slot, offsetof(Entry, addr), descs[k].addr);
        put<uint32_t>(slot, offsetof(Entry, len), descs[k].len);
        put<uint16_t>(slot, offsetof(Entry, flags), descs[k].flags);
        put<uint16_t>(slot, offsetof(Entry, id), descs[k].id);
        const uint16_t next = next_[entry];
        put<uint16_t>(header_, offsetof(Header, free_head), next);
        if (is_last) {
            // The list is complete: this is now the state a crash falls back to.
            put<uint16_t>(header_, offsetof(Header, old_free_head), next);
        }
        last = entry;
        entry = next;
    }
    free_head_ = entry;
    free_count_ -= static_cast<uint32_t>(descs.size());
    last_[head] = last;
    num_[head] = static_cast<uint16_t>(descs.size());
    head_of_[id] = head;
    return true;
}

void PackedInflight::used(uint16_t id) noexcept {
    // Nothing is written yet: the entries go back on the free list only with the batch, so
    // mark() never reuses the entries of a buffer whose completion the driver has not seen.
    if (batch_size_ < batch_.size()) {
        batch_[batch_size_++] = head_of_[id];
    }
}

void PackedInflight::before_publish(PackedPosition used) noexcept {
    for (size_t k = 0; k < batch_size_; ++k) {
        const uint16_t head = batch_[k];
        const uint16_t last = last_[head];
        put<uint16_t>(entries_ + size_t{last} * sizeof(Entry), offsetof(Entry, next), free_head_);
        next_[last] = free_head_;
        put<uint16_t>(header_, offsetof(Header, free_head), head);
        free_head_ = head;
        free_count_ += num_[head];
    }
    put<uint16_t>(header_, offsetof(Header, used_idx), used.index);
    put<uint8_t>(header_, offsetof(Header, used_wrap_counter), used.wrap);
}

void PackedInflight::published(PackedPosition used) noexcept {
    for (size_t k = 0; k < batch_size_; ++k) {
        put<uint8_t>(entries_ + size_t{batch_[k]} * sizeof(Entry), offsetof(Entry, inflight), 0);
    }
    batch_size_ = 0;
    put<uint16_t>(header_, offsetof(Header, old_free_head), free_head_);
    put<uint16_t>(header_, offsetof(Header, old_used_idx), used.index);
    put<uint8_t>(header_, offsetof(Header, old_used_wrap_counter), used.wrap);
}

}  // namespace vhostd::virtio

// QosState: the admission decision and the per-timeslice refill.
#include "block/qos/qos_state.hpp"

namespace vhostd::block::qos {
namespace {

constexpr uint64_t kMiB = uint64_t{1024} * 1024;
constexpr uint64_t kTicksPerSlice = 1'000'000;  // 1 ms in ns

}  // namespace

void QosState::set_limits(const QosLimits& limits) {
    std::lock_guard lock(mutex_);
    limits_ = limits;
    buckets_[rw_ios].set_per_second(limits.rw_ios_per_sec);
    buckets_[rw_bytes].set_per_second(limits.rw_mbytes_per_sec * kMiB);
    buckets_[r_bytes].set_per_second(limits.r_mbytes_per_sec * kMiB);
    buckets_[w_bytes].set_per_second(limits.w_mbytes_per_sec * kMiB);
    enabled_.store(limits.any(), std::memory_order_relaxed);
}

QosLimits QosState::limits() const {
    std::lock_guard lock(mutex_);
    return limits_;
}

void QosState::refill_if_new_slice(uint64_t now) noexcept {
    const uint64_t slice = now / kTicksPerSlice;
    uint64_t seen = slice_.load(std::memory_order_relaxed);
    // One channel wins the slice change and refills; the others see the new index.
    if (slice > seen && slice_.compare_exchange_strong(seen, slice, std::memory_order_relaxed)) {
        for (TokenBucket& bucket : buckets_) {
            bucket.refill(slice - seen);
        }
    }
}

bool QosState::admit(const IoRequest& request, uint64_t now) noexcept {
    const bool is_read = request.type == IoType::read;
    const bool is_write = request.type == IoType::write;
    if (!is_read && !is_write) {
        return true;  // SPDK limits reads and writes; flush, unmap and zeroing pass
    }
    refill_if_new_slice(now);
    TokenBucket* wanted[3] = {&buckets_[rw_ios], &buckets_[rw_bytes],
                              &buckets_[is_read ? r_bytes : w_bytes]};
    for (TokenBucket* bucket : wanted) {
        if (bucket->enabled() && !bucket->has_tokens()) {
            return false;
        }
    }
    // Checked, then taken: two channels racing may both pass with one token left, which
    // overdraws a slice by a request and is paid back from the next one.
    if (wanted[0]->enabled()) {
        wanted[0]->take(1);
    }
    for (TokenBucket* bucket : {wanted[1], wanted[2]}) {
        if (bucket->enabled()) {
            bucket->take(request.length);
        }
    }
    return true;
}

}  // namespace vhostd::block::qos

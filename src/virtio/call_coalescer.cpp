// CallCoalescer: rate windows and the signal schedule.
#include "virtio/call_coalescer.hpp"

namespace vhostd::virtio {

void CallCoalescer::configure(uint32_t delay_base_us, uint32_t iops_threshold) noexcept {
    delay_ns_ = uint64_t{delay_base_us} * 1000;
    threshold_ = iops_threshold;
    over_threshold_ = false;
    window_start_ns_ = 0;
    next_signal_ns_ = 0;
    // Nothing owed may be lost when coalescing is turned off: the next flush sends it.
}

void CallCoalescer::measure(uint64_t now_ns, uint64_t completions) noexcept {
    if (window_start_ns_ == 0) {
        window_start_ns_ = now_ns;
        window_completions_ = completions;
        return;
    }
    const uint64_t elapsed = now_ns - window_start_ns_;
    if (elapsed < kWindowNs) {
        return;
    }
    // rate = done / elapsed s > threshold, without dividing.
    const uint64_t done = completions - window_completions_;
    over_threshold_ = done * 1'000'000'000 > threshold_ * elapsed;
    window_start_ns_ = now_ns;
    window_completions_ = completions;
}

bool CallCoalescer::notify(uint64_t now_ns, uint64_t completions) noexcept {
    measure(now_ns, completions);
    if (!over_threshold_ || now_ns >= next_signal_ns_) {
        pending_ = false;
        next_signal_ns_ = now_ns + delay_ns_;
        return true;
    }
    pending_ = true;
    return false;
}

bool CallCoalescer::due(uint64_t now_ns) noexcept {
    if (!pending_ || now_ns < next_signal_ns_) {
        return false;
    }
    next_signal_ns_ = now_ns + delay_ns_;
    return true;
}

}  // namespace vhostd::virtio

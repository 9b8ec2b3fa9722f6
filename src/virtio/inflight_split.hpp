// SplitInflight: one split virtqueue's slice of the inflight region (vhost-user.rst,
// "Inflight I/O tracking", split layout): an entry per head descriptor with its inflight flag
// and fetch counter, and the list of the last batch of used heads that lets a restarted device
// tell which flags were still to be cleared. The ring records every head before handing it to
// the device and clears it once its used element is visible (the .cpp gives the order and why
// it survives a crash anywhere). Attaching validates and recovers the slice.
//
// The slice is shared memory the frontend can write at any time: it is only written at run
// time (the host keeps its own copy of what is in flight), and attach() reads it once, into
// host memory, before trusting anything in it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/error.hpp"
#include "virtio/inflight_region.hpp"

namespace vhostd::virtio {

class SplitInflight {
  public:
    // Attaches to `slot` for a ring of `queue_size` entries whose used->idx is `used_idx`. An
    // uninitialized slice is initialized and the ring continues at `frontend_base`; a used one
    // is recovered ("When reconnecting") and the ring continues after the requests it still
    // has in flight. EINVAL if the slice is inconsistent (then nothing in it is used).
    static Result<std::unique_ptr<SplitInflight>> attach(const InflightSlot& slot,
                                                         uint16_t queue_size, uint16_t used_idx,
                                                         uint16_t frontend_base);

    // The next avail index to fetch: used_idx + the requests in flight (each was fetched from
    // the avail ring and none of them is in the used ring), or frontend_base for a new slice.
    [[nodiscard]] uint16_t last_avail_idx() const { return last_avail_idx_; }
    // Heads in flight at attach time, in the order they were fetched.
    [[nodiscard]] std::span<const uint16_t> resubmit() const { return resubmit_; }

    // --- run time; only the owning reactor ---
    // Records `head` before its request starts. False if it is already in flight (a chain is
    // the device's until it is used: the driver may not offer it again before that).
    [[nodiscard]] bool mark(uint16_t head) noexcept;
    // `head`'s used element is written (not yet visible): it joins the last batch's list.
    void used(uint16_t head) noexcept;
    // used->idx is now `used_idx`: the batch is visible; its heads are no longer in flight.
    void published(uint16_t used_idx) noexcept;

    [[nodiscard]] bool faulted() const noexcept { return slot_.region->faulted(); }

  private:
    SplitInflight(InflightSlot slot, uint16_t size);
    Result<void> recover(uint16_t used_idx, uint16_t frontend_base);

    InflightSlot slot_;
    uint8_t* header_;
    uint8_t* entries_;
    uint16_t size_;
    std::vector<uint8_t> in_flight_;  // host copy of the inflight flags
    std::vector<uint16_t> batch_;     // heads used since the last publish
    size_t batch_size_ = 0;
    uint16_t last_batch_head_ = 0;
    uint64_t counter_ = 0;
    uint16_t last_avail_idx_ = 0;
    std::vector<uint16_t> resubmit_;
};

}  // namespace vhostd::virtio

// PackedInflight: one packed virtqueue's slice of the inflight region (vhost-user.rst,
// "Inflight I/O tracking", packed layout): a free list of entries, each holding one descriptor
// of a buffer in flight; a buffer's entries are linked from its head entry, which carries the
// inflight flag, the fetch counter and the list length. The ring records every buffer it
// fetches before handing it to the device and releases it once its used descriptor is
// visible, in an order that leaves the slice recoverable whatever instruction a crash
// interrupts (the .cpp explains each step). Attaching validates and recovers the slice.
//
// The slice is shared memory the frontend can write at any time: it is only ever written at
// run time; the host keeps its own copy of every link (next_), and attach() reads the slice
// once, into host memory, before trusting anything in it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/error.hpp"
#include "spec/virtio.hpp"
#include "virtio/inflight_region.hpp"
#include "virtio/packed_position.hpp"

namespace vhostd::virtio {

class PackedInflight {
  public:
    // A buffer in flight when the slice was attached, to be resubmitted.
    struct Resubmit {
        uint16_t id = 0;     // buffer ID (its last descriptor's)
        uint16_t num = 0;    // ring descriptors in its list
        uint32_t first = 0;  // its descriptors in resubmit_descs()
    };

    // Attaches to `slot` for a ring of `queue_size` descriptors at `ring`. An uninitialized
    // slice is initialized and the ring continues at `frontend_base`; a used one is recovered
    // ("When reconnecting"; the ring is read once, at the slice's old used slot) and the ring
    // continues where the slice says. EINVAL if the slice is inconsistent in any way (then
    // nothing in it is used).
    static Result<std::unique_ptr<PackedInflight>> attach(const InflightSlot& slot,
                                                          uint16_t queue_size,
                                                          const PackedDesc* ring,
                                                          PackedBase frontend_base);

    // Where the ring continues: avail = used + the slots of the buffers in flight.
    [[nodiscard]] PackedBase base() const { return base_; }
    // Buffers in flight at attach time, in the order they were fetched.
    [[nodiscard]] std::span<const Resubmit> resubmit() const { return resubmit_; }
    [[nodiscard]] std::span<const PackedDesc> resubmit_descs() const { return resubmit_descs_; }

    // --- run time, in ring order; only the owning reactor ---
    // Records buffer `id`'s list before it is started. False if the free list has no room
    // (a ring whose lists take more slots than it has).
    [[nodiscard]] bool mark(uint16_t id, std::span<const PackedDesc> descs) noexcept;
    // Buffer `id`'s used descriptor is written (not yet visible).
    void used(uint16_t id) noexcept;
    // The batch of used() buffers is about to be made visible, the next used slot being `used`.
    void before_publish(PackedPosition used) noexcept;
    // The batch is visible to the driver.
    void published(PackedPosition used) noexcept;

    [[nodiscard]] bool faulted() const noexcept { return slot_.region->faulted(); }

  private:
    PackedInflight(InflightSlot slot, uint16_t size);
    Result<void> recover(const PackedDesc* ring, PackedBase frontend_base);
    void initialize(PackedBase frontend_base);

    InflightSlot slot_;
    uint8_t* header_;
    uint8_t* entries_;
    uint16_t size_;
    std::vector<uint16_t> next_;     // host copy of every entry's link (never read back)
    std::vector<uint16_t> last_;     // by head entry: the list's last entry
    std::vector<uint16_t> num_;      // by head entry: the list's length
    std::vector<uint16_t> head_of_;  // by buffer ID: its head entry
    std::vector<uint16_t> batch_;    // head entries of used() buffers not yet published
    size_t batch_size_ = 0;
    uint16_t free_head_ = 0;  // == size_: empty
    uint32_t free_count_ = 0;
    uint64_t counter_ = 0;
    PackedBase base_;
    std::vector<Resubmit> resubmit_;
    std::vector<PackedDesc> resubmit_descs_;
};

}  // namespace vhostd::virtio

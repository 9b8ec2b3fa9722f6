// NvmeDoorbells: mapped stores, posted region writes and the shadow doorbell rule.
#include "frontend/nvme_doorbells.hpp"

#include <atomic>

#include "spec/nvme.hpp"

namespace vhostd::frontend {

bool shadow_doorbell_update(uint32_t* shadow_slot, const uint32_t* event_idx_slot,
                            uint32_t value) noexcept {
    std::atomic_ref<uint32_t> shadow(*shadow_slot);
    const uint32_t old = shadow.load(std::memory_order_relaxed);  // only we write it
    shadow.store(value, std::memory_order_release);
    // The controller writes EventIdx and then re-reads the shadow value; we write the shadow
    // value and then read EventIdx: with a full barrier on both sides one of us sees the other.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const uint32_t event = std::atomic_ref<uint32_t>(*const_cast<uint32_t*>(event_idx_slot))
                               .load(std::memory_order_acquire);
    return nvme_spec::doorbell_event_needed(
        static_cast<uint16_t>(event), static_cast<uint16_t>(value), static_cast<uint16_t>(old));
}

bool NvmeDoorbells::ring(uint32_t index, uint32_t value) noexcept {
    if (page_ != nullptr) {
        std::atomic_ref<uint32_t>(page_[index]).store(value, std::memory_order_release);
        return true;
    }
    if (client_ == nullptr) {
        return false;
    }
    const std::lock_guard lock(client_mutex_);
    return client_
        ->region_write_posted(
            vfio_user::pci_region::kBar0,
            nvme_spec::reg::kDoorbells + uint64_t{index} * nvme_spec::kDoorbellSize,
            std::as_bytes(std::span(&value, 1)))
        .has_value();
}

NvmeDoorbells::Outcome NvmeDoorbells::update(uint32_t index, uint32_t value) noexcept {
    // 5.7: the shadow buffers cover the I/O queues; the admin queue (doorbells 0 and 1) is
    // always rung for real.
    if (shadow_ != nullptr && index >= 2 &&
        !shadow_doorbell_update(shadow_ + index, event_idx_ + index, value)) {
        return Outcome::skipped;
    }
    return ring(index, value) ? Outcome::written : Outcome::failed;
}

}  // namespace vhostd::frontend

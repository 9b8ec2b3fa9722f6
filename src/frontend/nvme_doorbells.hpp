// NvmeDoorbells: how the driver tells the controller about new SQ tails and CQ heads. A real
// doorbell is a store into BAR0's doorbell page when the controller lets us map it (mapped
// mode) or a posted REGION_WRITE message (trapped mode). With Doorbell Buffer Config (NVMe
// 1.3, 5.7) the I/O queues' values go to the shadow doorbell buffer first and a real doorbell
// is written only when the controller's EventIdx asks for one, as Linux's driver does.
#pragma once

#include <cstdint>
#include <mutex>

#include "frontend/vfio_user_client.hpp"

namespace vhostd::frontend {

// The EventIdx rule (Linux's nvme_dbbuf_update_and_check_event): store the new value in the
// shadow slot, a full barrier (the controller reads the shadow value after writing its
// EventIdx), then ring only if the EventIdx lies in [old value, new value) modulo 2^16.
// Returns whether a real doorbell write is needed. Pure over two slots in shared memory.
bool shadow_doorbell_update(uint32_t* shadow_slot, const uint32_t* event_idx_slot,
                            uint32_t value) noexcept;

class NvmeDoorbells {
  public:
    enum class Outcome : uint8_t { written, skipped, failed };

    // `page`: the mapped doorbell page (mapped mode), or nullptr to send messages through
    // `client` (trapped mode). `client` may be null only with a page.
    NvmeDoorbells(VfioUserClient* client, uint32_t* page) : client_(client), page_(page) {}
    NvmeDoorbells(const NvmeDoorbells&) = delete;
    NvmeDoorbells& operator=(const NvmeDoorbells&) = delete;

    [[nodiscard]] bool mapped() const { return page_ != nullptr; }
    // The shadow doorbell and EventIdx pages (host views), or nullptrs to stop using them.
    void set_shadow(uint32_t* shadow, uint32_t* event_idx) noexcept {
        shadow_ = shadow;
        event_idx_ = event_idx;
    }
    [[nodiscard]] bool shadow() const { return shadow_ != nullptr; }
    [[nodiscard]] uint32_t* shadow_slot(uint32_t index) const { return shadow_ + index; }
    [[nodiscard]] uint32_t* event_idx_slot(uint32_t index) const { return event_idx_ + index; }

    // A real doorbell write of `value` to doorbell `index` (SQ y tail: 2y, CQ y head: 2y + 1).
    [[nodiscard]] bool ring(uint32_t index, uint32_t value) noexcept;
    // The value of doorbell `index` changed to `value`: through the shadow buffer for I/O
    // queues when one is configured (the admin queue's doorbells are always real, 5.7).
    [[nodiscard]] Outcome update(uint32_t index, uint32_t value) noexcept;

    // Trapped mode: queues on several threads share one socket, and the driver's own calls
    // use it too. Whoever talks on the client holds this.
    [[nodiscard]] std::mutex& client_mutex() { return client_mutex_; }

  private:
    VfioUserClient* client_;
    uint32_t* page_;
    uint32_t* shadow_ = nullptr;
    uint32_t* event_idx_ = nullptr;
    std::mutex client_mutex_;
};

}  // namespace vhostd::frontend

// LogicalUnit: one SCSI logical unit over a block device, the state every queue of a target
// shares: identity (VPD identifiers derived from the bdev UUID, stable across restarts),
// capacity, pending unit attentions and persistent reservations. Created and removed on the
// control reactor; read by the I/O reactors through LunChannels, so shared state is atomic
// (unit attentions, capacity) or taken under a mutex only by the rare PERSISTENT RESERVE
// commands (the READ/WRITE path reads two atomics to check reservations).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "base/error.hpp"
#include "block/bdev.hpp"
#include "scsi/reservations.hpp"
#include "scsi/unit_attention.hpp"

namespace vhostd::scsi {

inline constexpr uint64_t kMaxLunId = 16383;  // SAM-5 flat space addressing: 14 bits

class LogicalUnit {
  public:
    static Result<std::shared_ptr<LogicalUnit>> create(uint64_t lun,
                                                       std::shared_ptr<block::Bdev> bdev);
    LogicalUnit(const LogicalUnit&) = delete;
    LogicalUnit& operator=(const LogicalUnit&) = delete;

    [[nodiscard]] uint64_t lun() const { return lun_; }
    [[nodiscard]] const std::shared_ptr<block::Bdev>& bdev() const { return bdev_; }
    [[nodiscard]] uint32_t block_size() const { return bdev_->block_size(); }
    // Capacity in blocks as commands see it (READ CAPACITY, range checks); any thread.
    [[nodiscard]] uint64_t num_blocks() const {
        return num_blocks_.load(std::memory_order_acquire);
    }

    // The bdev changed size: re-reads it and raises CAPACITY DATA HAS CHANGED (SBC-3 4.10).
    // Any thread.
    void notify_resized();
    // A LOGICAL UNIT RESET completed (once, after every channel aborted its tasks): raises
    // POWER ON, RESET, OR BUS DEVICE RESET OCCURRED (SAM-5 6.3.3). Any thread.
    void notify_reset();
    // An I_T NEXUS RESET of `initiator` completed: raises I_T NEXUS LOSS OCCURRED for it.
    void notify_nexus_reset(uint32_t initiator);

    // The caching mode page's WCE (SBC-3 6.4.5): with the cache disabled every write is made
    // durable before it completes. Only a bdev with a volatile cache (flush) has one to enable.
    [[nodiscard]] bool write_cache_enabled() const {
        return write_cache_.load(std::memory_order_relaxed);
    }
    void set_write_cache(bool enabled) { write_cache_.store(enabled, std::memory_order_relaxed); }

    // Pending unit attentions, per initiator (SAM-5 5.14).
    [[nodiscard]] UnitAttentions& unit_attentions() { return unit_attentions_; }
    // Persistent reservations (SPC-4 5.12).
    [[nodiscard]] Reservations& reservations() { return reservations_; }

    // Identity for INQUIRY and VPD pages, fixed at creation.
    [[nodiscard]] const std::string& serial() const { return serial_; }    // 32 hex digits
    [[nodiscard]] uint64_t naa_id() const { return naa_id_; }              // NAA 3 designator
    [[nodiscard]] const std::string& product() const { return product_; }  // 16 chars, padded

  private:
    LogicalUnit(uint64_t lun, std::shared_ptr<block::Bdev> bdev);

    const uint64_t lun_;
    const std::shared_ptr<block::Bdev> bdev_;
    std::atomic<uint64_t> num_blocks_;
    std::string serial_;
    std::string product_;
    uint64_t naa_id_ = 0;
    std::atomic<bool> write_cache_;
    UnitAttentions unit_attentions_;
    Reservations reservations_;
};

}  // namespace vhostd::scsi

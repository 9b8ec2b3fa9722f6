// Unit attention conditions (SAM-5 5.14): raised by events on a logical unit, reported once per
// initiator as CHECK CONDITION / UNIT ATTENTION on its next command (except INQUIRY, REPORT
// LUNS and REQUEST SENSE). Lock-free: one atomic bit set per initiator.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>

namespace vhostd::scsi {

inline constexpr uint32_t kUnitAttentionInitiators = 64;  // == kMaxInitiators

// In reporting order: SAM-5 5.14 lets the device choose; a reset outranks everything.
enum class UnitAttention : uint8_t {
    power_on_reset,           // 29h/00h POWER ON, RESET, OR BUS DEVICE RESET OCCURRED
    nexus_loss,               // 29h/07h I_T NEXUS LOSS OCCURRED
    reported_luns_changed,    // 3Fh/0Eh REPORTED LUNS DATA HAS CHANGED
    capacity_changed,         // 2Ah/09h CAPACITY DATA HAS CHANGED
    mode_parameters_changed,  // 2Ah/01h MODE PARAMETERS CHANGED
    reservations_preempted,   // 2Ah/03h RESERVATIONS PREEMPTED
    reservations_released,    // 2Ah/04h RESERVATIONS RELEASED
    registrations_preempted,  // 2Ah/05h REGISTRATIONS PREEMPTED
    count_,
};

// Additional sense code and qualifier of a condition.
struct AscAscq {
    uint8_t asc;
    uint8_t ascq;
};
[[nodiscard]] AscAscq sense_code(UnitAttention ua);

class UnitAttentions {
  public:
    // Raises `ua` for every initiator / for one. Any thread.
    void raise_all(UnitAttention ua) noexcept;
    void raise(uint32_t initiator, UnitAttention ua) noexcept;
    // Takes the highest-priority pending condition of `initiator`, clearing it. Any thread;
    // two queues racing for one condition: exactly one of them gets it.
    std::optional<UnitAttention> take(uint32_t initiator) noexcept;
    [[nodiscard]] bool pending(uint32_t initiator) const noexcept;

  private:
    std::array<std::atomic<uint32_t>, kUnitAttentionInitiators> pending_{};
};

}  // namespace vhostd::scsi

// Persistent reservations of one logical unit (SPC-4 5.12): registrations (initiator, key), the
// reservation holder and type. PERSISTENT RESERVE IN/OUT change and read it under a mutex (rare
// management commands); the I/O path checks access with conflicts(), which reads two atomics.
//
// An initiator is an I_T nexus index (Task::initiator). vhost-user-scsi has one initiator per
// controller, so in practice one nexus registers and reserves; the model still tells nexuses
// apart so the rules (holder vs registrant vs other) are enforced as SPC-4 5.12 says.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

namespace vhostd::scsi {

// SPC-4 table 170: persistent reservation type codes.
enum class ReservationType : uint8_t {
    none = 0,
    write_exclusive = 1,
    exclusive_access = 3,
    write_exclusive_registrants_only = 5,
    exclusive_access_registrants_only = 6,
    write_exclusive_all_registrants = 7,
    exclusive_access_all_registrants = 8,
};

inline constexpr uint32_t kReservationInitiators = 64;  // == kMaxInitiators

class Reservations {
  public:
    // True if the reservation blocks this command from `initiator` (SPC-4 table 173 and 5.12.1:
    // reads are blocked only by the exclusive access types). Lock-free; any thread.
    [[nodiscard]] bool conflicts(uint32_t initiator, bool is_write) const noexcept;

    // --- under lock(), PERSISTENT RESERVE IN/OUT only ---
    std::mutex& mutex() { return mutex_; }
    struct Registration {
        bool registered = false;
        uint64_t key = 0;
    };
    std::array<Registration, kReservationInitiators>& registrations() { return registrations_; }
    [[nodiscard]] ReservationType type() const { return type_; }
    [[nodiscard]] uint32_t holder() const { return holder_; }  // for non all-registrants types
    [[nodiscard]] uint32_t generation() const { return generation_; }
    void bump_generation() { ++generation_; }
    // Sets (type != none) or clears the reservation and publishes it to conflicts().
    void set_reservation(ReservationType type, uint32_t holder) noexcept;
    // Publishes the registration table to conflicts() after a change.
    void publish_registrations() noexcept;
    [[nodiscard]] bool is_holder(uint32_t initiator) const noexcept;

  private:
    std::mutex mutex_;
    std::array<Registration, kReservationInitiators> registrations_{};
    ReservationType type_ = ReservationType::none;
    uint32_t holder_ = 0;
    uint32_t generation_ = 0;  // PRgeneration (SPC-4 6.16.2)
    // Published state: type << 8 | holder, and a bit per registered initiator.
    std::atomic<uint32_t> published_reservation_{0};
    std::atomic<uint64_t> published_registered_{0};
};

}  // namespace vhostd::scsi

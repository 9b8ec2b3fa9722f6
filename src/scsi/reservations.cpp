// Persistent reservation state and the lock-free access check of the I/O path.
#include "scsi/reservations.hpp"

namespace vhostd::scsi {

namespace {

bool all_registrants(ReservationType type) {
    return type == ReservationType::write_exclusive_all_registrants ||
           type == ReservationType::exclusive_access_all_registrants;
}

}  // namespace

bool Reservations::conflicts(uint32_t initiator, bool is_write) const noexcept {
    const uint32_t r = published_reservation_.load(std::memory_order_acquire);
    const auto type = static_cast<ReservationType>(r >> 8);
    if (type == ReservationType::none) {
        return false;
    }
    const uint64_t registered_bits = published_registered_.load(std::memory_order_acquire);
    const bool registered =
        initiator < kReservationInitiators && ((registered_bits >> initiator) & 1) != 0;
    const bool holder = (r & 0xff) == initiator;
    // SPC-4 5.12.1 table 173 (READ / WRITE rows).
    switch (type) {
        case ReservationType::write_exclusive:
            return is_write && !holder;
        case ReservationType::exclusive_access:
            return !holder;
        case ReservationType::write_exclusive_registrants_only:
        case ReservationType::write_exclusive_all_registrants:
            return is_write && !registered;
        case ReservationType::exclusive_access_registrants_only:
        case ReservationType::exclusive_access_all_registrants:
            return !registered;
        case ReservationType::none:
            break;
    }
    return false;
}

void Reservations::set_reservation(ReservationType type, uint32_t holder) noexcept {
    type_ = type;
    holder_ = type == ReservationType::none ? 0 : holder;
    published_reservation_.store(static_cast<uint32_t>(type_) << 8 | (holder_ & 0xff),
                                 std::memory_order_release);
}

void Reservations::publish_registrations() noexcept {
    uint64_t bits = 0;
    for (uint32_t i = 0; i < kReservationInitiators; ++i) {
        if (registrations_[i].registered) {
            bits |= uint64_t{1} << i;
        }
    }
    published_registered_.store(bits, std::memory_order_release);
}

bool Reservations::is_holder(uint32_t initiator) const noexcept {
    if (type_ == ReservationType::none || initiator >= kReservationInitiators) {
        return false;
    }
    // SPC-4 5.12.10: with an all-registrants type every registrant holds the reservation.
    if (all_registrants(type_)) {
        return registrations_[initiator].registered;
    }
    return holder_ == initiator;
}

}  // namespace vhostd::scsi

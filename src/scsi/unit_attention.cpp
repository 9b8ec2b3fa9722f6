// Per-initiator unit attention bits.
#include "scsi/unit_attention.hpp"

#include <bit>

namespace vhostd::scsi {

AscAscq sense_code(UnitAttention ua) {
    switch (ua) {
        case UnitAttention::power_on_reset:
            return {0x29, 0x00};
        case UnitAttention::nexus_loss:
            return {0x29, 0x07};
        case UnitAttention::reported_luns_changed:
            return {0x3f, 0x0e};
        case UnitAttention::capacity_changed:
            return {0x2a, 0x09};
        case UnitAttention::mode_parameters_changed:
            return {0x2a, 0x01};
        case UnitAttention::reservations_preempted:
            return {0x2a, 0x03};
        case UnitAttention::reservations_released:
            return {0x2a, 0x04};
        case UnitAttention::registrations_preempted:
            return {0x2a, 0x05};
        case UnitAttention::count_:
            break;
    }
    return {0x29, 0x00};
}

void UnitAttentions::raise_all(UnitAttention ua) noexcept {
    for (auto& bits : pending_) {
        bits.fetch_or(1u << static_cast<unsigned>(ua), std::memory_order_acq_rel);
    }
}

void UnitAttentions::raise(uint32_t initiator, UnitAttention ua) noexcept {
    if (initiator < pending_.size()) {
        pending_[initiator].fetch_or(1u << static_cast<unsigned>(ua), std::memory_order_acq_rel);
    }
}

std::optional<UnitAttention> UnitAttentions::take(uint32_t initiator) noexcept {
    if (initiator >= pending_.size()) {
        return std::nullopt;
    }
    auto& bits = pending_[initiator];
    // Each failed round means another queue took a bit, so the loop is bounded by the number
    // of conditions (plus any raised meanwhile; capped to stay bounded regardless).
    for (int round = 0; round < 4 * static_cast<int>(UnitAttention::count_); ++round) {
        const uint32_t now = bits.load(std::memory_order_acquire);
        if (now == 0) {
            return std::nullopt;
        }
        const uint32_t bit = now & (~now + 1);  // lowest set: highest priority
        if (bits.fetch_and(~bit, std::memory_order_acq_rel) & bit) {
            return static_cast<UnitAttention>(std::countr_zero(bit));
        }
    }
    return std::nullopt;
}

bool UnitAttentions::pending(uint32_t initiator) const noexcept {
    return initiator < pending_.size() && pending_[initiator].load(std::memory_order_acquire) != 0;
}

}  // namespace vhostd::scsi

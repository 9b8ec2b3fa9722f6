// Features: the values Get/Set Features read and change (5.21.1), their defaults, and the
// checks each Set Features applies to its dword 11. The controller applies the values the
// I/O path follows (write cache, coalescing) and handles the data transfer of the host
// identifier. Control reactor only.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "nvme/status.hpp"

namespace vhostd::nvme {

struct FeatureResult {
    Status status = kSuccess;
    uint32_t dw0 = 0;
};

class Features {
  public:
    // `vectors`: MSI-X vectors (Interrupt Vector Configuration); `max_queues`: I/O queues
    // offered (Number of Queues).
    Features(uint16_t vectors, uint16_t max_queues);

    // Set Features for every feature held here (not the host identifier, whose value comes
    // as data). `queues_exist`: an I/O queue was created since the last reset (5.21.1.7).
    FeatureResult set(uint8_t fid, uint32_t cdw11, bool queues_exist);
    // Get Features with SEL (current, default, saved, supported capabilities).
    FeatureResult get(uint8_t fid, uint32_t sel, uint32_t cdw11) const;
    // Whether `fid` is a feature this controller implements.
    [[nodiscard]] static bool supported(uint8_t fid);

    // Controller reset: every feature back to its default.
    void reset();

    [[nodiscard]] bool write_cache() const { return current_.write_cache; }
    [[nodiscard]] uint32_t coalescing() const { return current_.coalescing; }
    [[nodiscard]] bool coalescing_disabled(uint16_t vector) const {
        return vector < vector_cd_.size() && vector_cd_[vector];
    }
    [[nodiscard]] uint32_t async_event_config() const { return current_.async_event_config; }
    // Number of Queues as allocated: 0's based NSQA / NCQA (the maximum until a Set).
    [[nodiscard]] uint16_t sq_allocated() const { return current_.sq_allocated; }
    [[nodiscard]] uint16_t cq_allocated() const { return current_.cq_allocated; }
    [[nodiscard]] uint16_t temperature_over() const { return current_.temperature_over; }

    std::array<uint8_t, 16> host_id{};
    bool host_id_extended = false;  // a 128-bit identifier was set

  private:
    struct Values {
        uint32_t arbitration = 0;
        uint32_t power_management = 0;
        uint16_t temperature_over = 343;  // kelvin, WCTEMP
        uint16_t temperature_under = 0;
        uint32_t error_recovery = 0;
        bool write_cache = true;
        uint16_t sq_allocated = 0;
        uint16_t cq_allocated = 0;
        uint32_t coalescing = 0;
        uint32_t write_atomicity = 0;
        uint32_t async_event_config = 0;
        uint32_t keep_alive = 0;
    };
    [[nodiscard]] Values defaults() const;
    uint32_t value_of(const Values& values, uint8_t fid, uint32_t cdw11) const;

    uint16_t vectors_;
    uint16_t max_queues_;
    Values current_;
    std::vector<bool> vector_cd_;
};

}  // namespace vhostd::nvme

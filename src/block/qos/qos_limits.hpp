// QosLimits: a bdev's rate limits as bdev_set_qos_limit takes them and bdev_get_bdevs shows
// them ("assigned_rate_limits"). 0 means no limit.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.hpp"

namespace vhostd::block::qos {

struct QosLimits {
    uint64_t rw_ios_per_sec = 0;
    uint64_t rw_mbytes_per_sec = 0;  // MiB/s, reads and writes together
    uint64_t r_mbytes_per_sec = 0;
    uint64_t w_mbytes_per_sec = 0;

    [[nodiscard]] bool any() const {
        return rw_ios_per_sec != 0 || rw_mbytes_per_sec != 0 || r_mbytes_per_sec != 0 ||
               w_mbytes_per_sec != 0;
    }
    bool operator==(const QosLimits&) const = default;
};

// SPDK's rules for a limit: an I/O limit is 0 or a multiple of 1000 (it is spent in 1 ms
// slices, at least one I/O per slice); a bandwidth limit is whole MiB/s, so at least 1 MiB/s
// (more than one 512-byte block per slice). Fails with EINVAL naming the field.
Result<void> validate(const QosLimits& limits);

inline constexpr uint64_t kMinIosPerSec = 1000;
inline constexpr uint64_t kTimeslicesPerSec = 1000;  // 1 ms slices, as SPDK
inline constexpr uint64_t kMaxMbytesPerSec = UINT64_MAX / (1024 * 1024);

}  // namespace vhostd::block::qos

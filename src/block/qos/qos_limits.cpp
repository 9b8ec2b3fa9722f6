// QosLimits validation (SPDK's rules).
#include "block/qos/qos_limits.hpp"

namespace vhostd::block::qos {

Result<void> validate(const QosLimits& limits) {
    if (limits.rw_ios_per_sec % kMinIosPerSec != 0) {
        return make_error(EINVAL, "rw_ios_per_sec {} is not a multiple of {}",
                          limits.rw_ios_per_sec, kMinIosPerSec);
    }
    const struct {
        const char* name;
        uint64_t value;
    } mbytes[] = {{"rw_mbytes_per_sec", limits.rw_mbytes_per_sec},
                  {"r_mbytes_per_sec", limits.r_mbytes_per_sec},
                  {"w_mbytes_per_sec", limits.w_mbytes_per_sec}};
    for (const auto& m : mbytes) {
        if (m.value > kMaxMbytesPerSec) {
            return make_error(EINVAL, "{} {} is too large (at most {})", m.name, m.value,
                              kMaxMbytesPerSec);
        }
    }
    return {};
}

}  // namespace vhostd::block::qos

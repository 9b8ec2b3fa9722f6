// Features: defaults, checks and values by feature id.
#include "nvme/features.hpp"

#include <algorithm>

#include "spec/nvme.hpp"

namespace vhostd::nvme {

using namespace nvme_spec;

namespace {

// Temperature Threshold CDW11: TMPTH 15:0, TMPSEL 19:16, THSEL 21:20.
constexpr uint32_t kTmpselComposite = 0x0;
constexpr uint32_t kThselOver = 0x0;
constexpr uint32_t kThselUnder = 0x1;
constexpr uint32_t kErrorRecoveryDulbe = 1u << 16;
constexpr uint32_t kIvConfigCd = 1u << 16;

}  // namespace

Features::Features(uint16_t vectors, uint16_t max_queues)
    : vectors_(vectors), max_queues_(max_queues), vector_cd_(vectors, false) {
    reset();
}

Features::Values Features::defaults() const {
    Values values;
    values.sq_allocated = static_cast<uint16_t>(max_queues_ - 1);
    values.cq_allocated = static_cast<uint16_t>(max_queues_ - 1);
    return values;
}

void Features::reset() {
    current_ = defaults();
    std::fill(vector_cd_.begin(), vector_cd_.end(), false);
    host_id.fill(0);
    host_id_extended = false;
}

bool Features::supported(uint8_t fid) {
    switch (fid) {
        case feature::kArbitration:
        case feature::kPowerManagement:
        case feature::kTemperatureThreshold:
        case feature::kErrorRecovery:
        case feature::kVolatileWriteCache:
        case feature::kNumberOfQueues:
        case feature::kInterruptCoalescing:
        case feature::kInterruptVectorConfig:
        case feature::kWriteAtomicity:
        case feature::kAsyncEventConfig:
        case feature::kKeepAliveTimer:
        case feature::kHostIdentifier:
            return true;
        default:
            return false;
    }
}

FeatureResult Features::set(uint8_t fid, uint32_t cdw11, bool queues_exist) {
    const FeatureResult ok{};
    const FeatureResult invalid{.status = status::kInvalidField};
    switch (fid) {
        case feature::kArbitration:
            current_.arbitration = cdw11;
            return ok;
        case feature::kPowerManagement:
            // 5.21.1.2: PS must name a power state of the controller (NPSS = 0: only 0).
            if ((cdw11 & 0x1f) != 0) {
                return invalid;
            }
            current_.power_management = cdw11 & 0xff;
            return ok;
        case feature::kTemperatureThreshold: {
            // 5.21.1.4: only the composite temperature sensor exists.
            const uint32_t sensor = (cdw11 >> 16) & 0xf;
            const uint32_t kind = (cdw11 >> 20) & 0x3;
            if (sensor != kTmpselComposite || kind > kThselUnder) {
                return invalid;
            }
            (kind == kThselOver ? current_.temperature_over : current_.temperature_under) =
                static_cast<uint16_t>(cdw11 & 0xffff);
            return ok;
        }
        case feature::kErrorRecovery:
            // 5.21.1.5: DULBE needs deallocated-block error support, which no namespace has.
            if ((cdw11 & kErrorRecoveryDulbe) != 0) {
                return invalid;
            }
            current_.error_recovery = cdw11 & 0xffff;
            return ok;
        case feature::kVolatileWriteCache:
            current_.write_cache = (cdw11 & 1) != 0;
            return ok;
        case feature::kNumberOfQueues: {
            // 5.21.1.7: once I/O queues exist the count may not change; 65535 is invalid.
            if (queues_exist) {
                return FeatureResult{.status = status::kCommandSequenceError};
            }
            const uint32_t nsqr = cdw11 & 0xffff;
            const uint32_t ncqr = cdw11 >> 16;
            if (nsqr == 0xffff || ncqr == 0xffff) {
                return invalid;
            }
            current_.sq_allocated =
                static_cast<uint16_t>(std::min<uint32_t>(nsqr, max_queues_ - 1));
            current_.cq_allocated =
                static_cast<uint16_t>(std::min<uint32_t>(ncqr, max_queues_ - 1));
            return FeatureResult{.dw0 = uint32_t{current_.sq_allocated} |
                                        (uint32_t{current_.cq_allocated} << 16)};
        }
        case feature::kInterruptCoalescing:
            current_.coalescing = cdw11 & 0xffff;
            return ok;
        case feature::kInterruptVectorConfig: {
            const uint32_t vector = cdw11 & 0xffff;
            if (vector >= vectors_) {
                return invalid;
            }
            vector_cd_[vector] = (cdw11 & kIvConfigCd) != 0;
            return ok;
        }
        case feature::kWriteAtomicity:
            current_.write_atomicity = cdw11 & 1;
            return ok;
        case feature::kAsyncEventConfig:
            current_.async_event_config = cdw11;
            return ok;
        case feature::kKeepAliveTimer:
            // KAS = 0: no keep-alive timer runs, but the value is kept for Get Features.
            current_.keep_alive = cdw11;
            return ok;
        default:
            return invalid;
    }
}

uint32_t Features::value_of(const Values& values, uint8_t fid, uint32_t cdw11) const {
    switch (fid) {
        case feature::kArbitration:
            return values.arbitration;
        case feature::kPowerManagement:
            return values.power_management;
        case feature::kTemperatureThreshold:
            return ((cdw11 >> 20) & 0x3) == kThselUnder ? values.temperature_under
                                                        : values.temperature_over;
        case feature::kErrorRecovery:
            return values.error_recovery;
        case feature::kVolatileWriteCache:
            return values.write_cache ? 1 : 0;
        case feature::kNumberOfQueues:
            return uint32_t{values.sq_allocated} | (uint32_t{values.cq_allocated} << 16);
        case feature::kInterruptCoalescing:
            return values.coalescing;
        case feature::kWriteAtomicity:
            return values.write_atomicity;
        case feature::kAsyncEventConfig:
            return values.async_event_config;
        case feature::kKeepAliveTimer:
            return values.keep_alive;
        default:
            return 0;
    }
}

FeatureResult Features::get(uint8_t fid, uint32_t sel, uint32_t cdw11) const {
    if (!supported(fid) || fid == feature::kHostIdentifier) {
        return FeatureResult{.status = status::kInvalidField};
    }
    if (sel == kSelSupportedCapabilities) {
        // Every feature here is changeable and none is saveable or namespace specific.
        return FeatureResult{.dw0 = kFeatureChangeable};
    }
    if (sel > kSelSupportedCapabilities) {
        return FeatureResult{.status = status::kInvalidField};
    }
    if (fid == feature::kTemperatureThreshold && ((cdw11 >> 16) & 0xf) != kTmpselComposite) {
        return FeatureResult{.status = status::kInvalidField};
    }
    if (fid == feature::kInterruptVectorConfig) {
        const uint32_t vector = cdw11 & 0xffff;
        if (vector >= vectors_) {
            return FeatureResult{.status = status::kInvalidField};
        }
        const bool cd = sel == kSelCurrent && vector_cd_[vector];
        return FeatureResult{.dw0 = vector | (cd ? kIvConfigCd : 0)};
    }
    // Nothing is saveable: the saved value is the default (5.21: SEL 010b).
    const Values values = sel == kSelCurrent ? current_ : defaults();
    return FeatureResult{.dw0 = value_of(values, fid, cdw11)};
}

}  // namespace vhostd::nvme

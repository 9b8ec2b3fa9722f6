// Backend-side request checks.
#include "block/module/request_check.hpp"

#include "base/multiple_of.hpp"

namespace vhostd::block {

bool is_well_formed(const IoRequest& request, const RequestLimits& limits) noexcept {
    if (request.type == IoType::flush) {
        return true;  // covers the whole device; offset and length are meaningless
    }
    const uint32_t bs = limits.block_size;
    const uint64_t size = limits.size_bytes();
    if (bs == 0 || !is_multiple_of(request.offset, bs) || !is_multiple_of(request.length, bs) ||
        request.offset > size || request.length > size - request.offset) {
        return false;
    }
    if (request.type != IoType::read && request.type != IoType::write) {
        return true;
    }
    if ((request.iov == nullptr && request.iovcnt != 0) ||
        (limits.caps.max_segments != 0 && request.iovcnt > limits.caps.max_segments)) {
        return false;
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < request.iovcnt; ++i) {
        if (request.iov[i].iov_len > request.length - total) {
            return false;  // written so that `total` cannot wrap around
        }
        total += request.iov[i].iov_len;
    }
    return total == request.length;
}

IoStatus check_request(const IoRequest& request, const RequestLimits& limits) noexcept {
    if (!is_well_formed(request, limits)) {
        return IoStatus::io_error;
    }
    switch (request.type) {
        case IoType::read:
        case IoType::flush:
            return IoStatus::success;
        case IoType::write:
            return limits.caps.read_only ? IoStatus::io_error : IoStatus::success;
        case IoType::discard:
            if (limits.caps.read_only)
                return IoStatus::io_error;
            return limits.caps.discard ? IoStatus::success : IoStatus::unsupported;
        case IoType::write_zeroes:
            if (limits.caps.read_only)
                return IoStatus::io_error;
            return limits.caps.write_zeroes ? IoStatus::success : IoStatus::unsupported;
    }
    return IoStatus::io_error;
}

}  // namespace vhostd::block

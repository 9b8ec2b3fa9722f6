// is_multiple_of: the alignment check of every request (offsets and lengths against a block
// size), without a division when the block size is a power of two, as every bdev's is.
#pragma once

#include <cstdint>

namespace vhostd {

// True if `x` is a multiple of `m`; `m` must not be 0.
constexpr bool is_multiple_of(uint64_t x, uint64_t m) {
    // Not std::has_single_bit: without -mpopcnt that is a library call.
    return (m & (m - 1)) == 0 ? (x & (m - 1)) == 0 : x % m == 0;
}

}  // namespace vhostd

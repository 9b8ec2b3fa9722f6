// is_multiple_of: the power-of-two mask and the division agree.
#include "base/multiple_of.hpp"

#include <gtest/gtest.h>

namespace vhostd {
namespace {

static_assert(is_multiple_of(0, 512) && is_multiple_of(4096, 512) && !is_multiple_of(4095, 512));
static_assert(is_multiple_of(1040, 520) && !is_multiple_of(1024, 520));  // not a power of two

TEST(MultipleOf, MaskAndDivisionAgree) {
    for (uint64_t m : {1ULL, 2ULL, 3ULL, 512ULL, 520ULL, 4096ULL, 1ULL << 40}) {
        for (uint64_t x : {0ULL, 1ULL, 511ULL, 512ULL, 1040ULL, 4096ULL, (1ULL << 40) * 3, ~0ULL}) {
            EXPECT_EQ(is_multiple_of(x, m), x % m == 0) << x << " " << m;
        }
    }
}

}  // namespace
}  // namespace vhostd

// UUIDs: generated ones are RFC 4122 version 4 and distinct; given ones are checked.
#include "block/uuid.hpp"

#include <set>

#include <gtest/gtest.h>

#include "block/backends/malloc/malloc_bdev.hpp"

namespace vhostd::block {
namespace {

TEST(Uuid, GeneratedUuidsAreVersion4AndDistinct) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string u = generate_uuid();
        ASSERT_EQ(u.size(), 36U);
        EXPECT_EQ(u[14], '4') << u;                                          // version
        EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos) << u;  // variant
        auto normalized = normalize_uuid(u);
        ASSERT_TRUE(normalized.has_value()) << u;
        EXPECT_EQ(*normalized, u);
        seen.insert(u);
    }
    EXPECT_EQ(seen.size(), 1000U);
}

TEST(Uuid, NormalizeAcceptsEitherCaseAndRejectsOtherForms) {
    EXPECT_EQ(normalize_uuid("1B4E28BA-2FA1-11D2-883F-0016D3CCA427").value(),
              "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
    for (const char* bad :
         {"", "1b4e28ba2fa111d2883f0016d3cca427", "1b4e28ba-2fa1-11d2-883f-0016d3cca42",
          "1b4e28ba-2fa1-11d2-883f-0016d3cca4277", "{1b4e28ba-2fa1-11d2-883f-0016d3cca42}",
          "1b4e28ba-2fa1-11d2-883f_0016d3cca427", "1b4e28ba-2fa1-11d2-883f-0016d3cca42g"}) {
        auto r = normalize_uuid(bad);
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_EQ(r.error().code, EINVAL);
    }
}

TEST(Uuid, BdevGetsAGeneratedUuidUnlessGivenOne) {
    auto a = bdev_malloc_create({"A", 8, 512, {}});
    auto b = bdev_malloc_create({"B", 8, 512, "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE"});
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(normalize_uuid((*a)->uuid()).has_value());
    EXPECT_EQ((*b)->uuid(), "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
}

}  // namespace
}  // namespace vhostd::block

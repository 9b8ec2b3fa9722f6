// Bdev registry: unique names and UUIDs, lookups, order, claims and removal refusal.
#include "block/bdev_registry.hpp"

#include <gtest/gtest.h>

#include "block/backends/malloc/malloc_bdev.hpp"
#include "block/backends/null/null_bdev.hpp"

namespace vhostd::block {
namespace {

std::shared_ptr<Bdev> null_bdev(const std::string& name, const std::string& uuid = {}) {
    auto b = bdev_null_create({name, 16, 512, uuid});
    EXPECT_TRUE(b.has_value());
    return *b;
}

TEST(BdevRegistry, AddsFindsListsAndRemoves) {
    BdevRegistry reg;
    ASSERT_TRUE(reg.add(null_bdev("Null1")).has_value());
    ASSERT_TRUE(reg.add(null_bdev("Null0")).has_value());
    EXPECT_EQ(reg.size(), 2U);
    auto found = reg.find("Null0");
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found->name(), "Null0");
    EXPECT_EQ(reg.find(found->uuid()), found);  // UUIDs work where names do
    EXPECT_EQ(reg.find("Null2"), nullptr);

    auto all = reg.list();
    ASSERT_EQ(all.size(), 2U);
    EXPECT_EQ(all[0]->name(), "Null1");  // registration order
    EXPECT_EQ(all[1]->name(), "Null0");

    auto removed = reg.remove("Null1");
    ASSERT_TRUE(removed.has_value());
    EXPECT_EQ((*removed)->name(), "Null1");
    EXPECT_EQ(reg.find("Null1"), nullptr);
    auto again = reg.remove("Null1");
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().code, ENODEV);
    EXPECT_EQ(again.error().message, "bdev Null1 not found");
}

TEST(BdevRegistry, RefusesDuplicateNamesAndUuidsAndBadNames) {
    BdevRegistry reg;
    const std::string uuid = "11111111-2222-4333-8444-555555555555";
    ASSERT_TRUE(reg.add(null_bdev("Null0", uuid)).has_value());
    auto dup = reg.add(null_bdev("Null0"));
    ASSERT_FALSE(dup.has_value());
    EXPECT_EQ(dup.error().code, EEXIST);
    EXPECT_EQ(dup.error().message, "bdev Null0 already exists");
    auto dup_uuid = reg.add(null_bdev("Null1", uuid));
    ASSERT_FALSE(dup_uuid.has_value());
    EXPECT_EQ(dup_uuid.error().code, EEXIST);
    EXPECT_FALSE(reg.add(nullptr).has_value());
    EXPECT_EQ(reg.size(), 1U);
}

TEST(BdevRegistry, ClaimedBdevCannotBeRemovedUntilReleased) {
    BdevRegistry reg;
    auto bdev = bdev_malloc_create({"Malloc0", 16, 512, {}});
    ASSERT_TRUE(bdev.has_value());
    ASSERT_TRUE(reg.add(*bdev).has_value());
    ASSERT_TRUE(reg.claim("Malloc0", "vhost controller vhost.0").has_value());
    ASSERT_NE(reg.claimed_by("Malloc0"), nullptr);
    EXPECT_EQ(*reg.claimed_by("Malloc0"), "vhost controller vhost.0");

    auto removed = reg.remove("Malloc0");
    ASSERT_FALSE(removed.has_value());
    EXPECT_EQ(removed.error().code, EBUSY);
    EXPECT_EQ(removed.error().message, "bdev Malloc0 is in use by vhost controller vhost.0");

    auto second = reg.claim("Malloc0", "vhost controller vhost.1");
    ASSERT_FALSE(second.has_value());
    EXPECT_EQ(second.error().code, EBUSY);
    EXPECT_EQ(second.error().message, "bdev Malloc0 is already in use by vhost controller vhost.0");

    auto wrong = reg.release("Malloc0", "vhost controller vhost.1");
    ASSERT_FALSE(wrong.has_value());
    EXPECT_EQ(wrong.error().code, EPERM);

    ASSERT_TRUE(reg.release("Malloc0", "vhost controller vhost.0").has_value());
    EXPECT_EQ(reg.claimed_by("Malloc0"), nullptr);
    EXPECT_FALSE(reg.release("Malloc0", "vhost controller vhost.0").has_value());
    EXPECT_TRUE(reg.remove("Malloc0").has_value());
}

TEST(BdevRegistry, ClaimsOfUnknownBdevsFail) {
    BdevRegistry reg;
    EXPECT_EQ(reg.claim("Nope", "x").error().code, ENODEV);
    EXPECT_EQ(reg.release("Nope", "x").error().code, ENODEV);
    ASSERT_TRUE(reg.add(null_bdev("Null0")).has_value());
    EXPECT_EQ(reg.claim("Null0", "").error().code, EINVAL);
    EXPECT_EQ(reg.claimed_by("Nope"), nullptr);
}

}  // namespace
}  // namespace vhostd::block

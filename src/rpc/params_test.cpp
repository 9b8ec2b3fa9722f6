// Params: types, required fields, defaults-only SPDK fields and unknown fields, with messages
// that name the field.
#include "rpc/params.hpp"

#include <gtest/gtest.h>

namespace vhostd::rpc {
namespace {

using nlohmann::json;

TEST(Params, ReadsTypedFields) {
    const json j = {{"name", "Malloc0"}, {"num_blocks", 128}, {"readonly", true}};
    Params p(&j);
    EXPECT_EQ(p.string("name").value(), "Malloc0");
    EXPECT_EQ(p.u64("num_blocks").value(), 128U);
    EXPECT_EQ(p.optional_bool("readonly").value(), true);
    EXPECT_FALSE(p.optional_string("uuid").value().has_value());
    EXPECT_TRUE(p.finish().has_value());
}

TEST(Params, NamesTheFieldInErrors) {
    const json j = {{"num_blocks", "many"}, {"block_size", -1}};
    Params p(&j);
    auto n = p.u64("num_blocks");
    ASSERT_FALSE(n.has_value());
    EXPECT_EQ(n.error().code, code::kInvalidParams);
    EXPECT_EQ(n.error().message, "params.num_blocks: expected an unsigned integer");
    EXPECT_FALSE(p.u64("block_size").has_value());
    auto missing = p.string("name");
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().message, "params.name: expected a string (required)");
}

TEST(Params, RefusesUnknownFields) {
    const json j = {{"name", "x"}, {"colour", "blue"}};
    Params p(&j);
    (void)p.string("name");
    auto done = p.finish();
    ASSERT_FALSE(done.has_value());
    EXPECT_EQ(done.error().message, "params.colour: unknown parameter");
}

TEST(Params, OnlyDefaultAcceptsTheDefault) {
    const json ok = {{"md_size", 0}};
    Params a(&ok);
    EXPECT_TRUE(a.only_default("md_size", 0).has_value());
    const json bad = {{"md_size", 8}};
    Params b(&bad);
    EXPECT_FALSE(b.only_default("md_size", 0).has_value());
}

TEST(Params, NullAndNonObjectParams) {
    Params none(nullptr);
    EXPECT_FALSE(none.string("name").has_value());
    EXPECT_TRUE(none.finish().has_value());
    const json arr = json::array({1, 2});
    Params wrong(&arr);
    EXPECT_EQ(wrong.string("name").error().message, "params: expected an object");
}

}  // namespace
}  // namespace vhostd::rpc

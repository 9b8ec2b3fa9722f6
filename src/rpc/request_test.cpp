// Request: SPDK's envelope rules and response shape.
#include "rpc/request.hpp"

#include <gtest/gtest.h>

namespace vhostd::rpc {
namespace {

using nlohmann::json;

TEST(Request, DecodesACallWithParamsAndAnyKindOfId) {
    auto r = decode_request(R"({"jsonrpc":"2.0","method":"m","params":{"a":1},"id":7})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->method, "m");
    EXPECT_EQ(*r->params, json({{"a", 1}}));
    EXPECT_EQ(*r->id, 7);
    for (const char* id : {R"("abc")", "-3", "1.5", "null"}) {
        auto s = decode_request(fmt::format(R"({{"jsonrpc":"2.0","method":"m","id":{}}})", id));
        ASSERT_TRUE(s) << id;
        EXPECT_EQ(*s->id, json::parse(id));
        EXPECT_FALSE(s->params);
    }
}

TEST(Request, ANotificationHasNoId) {
    auto r = decode_request(R"({"jsonrpc":"2.0","method":"m"})");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->id);
}

TEST(Request, ParseErrorsCloseTheConnection) {
    auto r = decode_request(R"({"jsonrpc":"2.0","method":})");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().error.code, code::kParseError);
    EXPECT_TRUE(r.error().close);
    EXPECT_TRUE(r.error().id.is_null());
}

TEST(Request, InvalidRequestsKeepAValidId) {
    struct Case {
        const char* text;
        bool id_kept;
    };
    for (const Case& c : {
             Case{R"([{"jsonrpc":"2.0","method":"m","id":1}])", false},
             Case{R"("just a string")", false},
             Case{R"({"jsonrpc":"1.0","method":"m","id":1})", true},
             Case{R"({"method":"m","id":1})", true},
             Case{R"({"jsonrpc":"2.0","method":5,"id":1})", true},
             Case{R"({"jsonrpc":"2.0","method":"m","params":3,"id":1})", true},
             Case{R"({"jsonrpc":"2.0","method":"m","params":null,"id":1})", true},
             Case{R"({"jsonrpc":"2.0","method":"m","id":1,"extra":0})", true},
             Case{R"({"jsonrpc":"2.0","method":"m","id":{"a":1}})", false},
             Case{R"({"jsonrpc":"2.0","method":"m","id":[1]})", false},
         }) {
        auto r = decode_request(c.text);
        ASSERT_FALSE(r) << c.text;
        EXPECT_EQ(r.error().error.code, code::kInvalidRequest) << c.text;
        EXPECT_FALSE(r.error().close) << c.text;
        EXPECT_EQ(r.error().id, c.id_kept ? json(1) : json(nullptr)) << c.text;
    }
}

TEST(Request, RefusesOverlongIds) {
    const std::string id(kMaxIdChars, 'i');  // quoted, two characters too long
    auto r = decode_request(fmt::format(R"({{"jsonrpc":"2.0","method":"m","id":"{}"}})", id));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().error.code, code::kInvalidRequest);
}

TEST(Request, ResponsesHaveSpdksShapeAndEndWithANewline) {
    EXPECT_EQ(encode_response(3, json(true)), "{\"id\":3,\"jsonrpc\":\"2.0\",\"result\":true}\n");
    const std::string error =
        encode_response("x", std::unexpected(RpcError{code::kMethodNotFound, "Method not found"}));
    ASSERT_EQ(error.back(), '\n');
    EXPECT_EQ(json::parse(error), json::parse(R"({"jsonrpc":"2.0","id":"x","error":
        {"code":-32601,"message":"Method not found"}})"));
}

}  // namespace
}  // namespace vhostd::rpc

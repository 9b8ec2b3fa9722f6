// Config replay: order of calls, SPDK's null configs, and error messages that name the file,
// subsystem, call and field.
#include "rpc/config_replay.hpp"

#include <gtest/gtest.h>

#include "rpc/params.hpp"

namespace vhostd::rpc {
namespace {

using nlohmann::json;

class ConfigReplayTest : public ::testing::Test {
  protected:
    std::unique_ptr<reactor::Reactor> control =
        reactor::Reactor::create(0, {reactor::PollMode::never, {}, -1}).value();
    MethodTable methods;
    std::vector<std::string> calls;

    void SetUp() override {
        methods.add_sync("make", [this](const json* params) -> RpcResult {
            Params p(params);
            calls.push_back(RPC_TRY(p.string("name")));
            RPC_TRY(p.finish());
            return true;
        });
        // Replies later, from a posted message.
        methods.add("make_later", [this](const json*, Reply reply) {
            control->post([this, reply = std::move(reply)]() mutable {
                calls.push_back("later");
                reply(true);
            });
        });
    }
};

TEST_F(ConfigReplayTest, CallsMethodsInOrderAndSkipsNullConfigs) {
    const json config = json::parse(R"({"subsystems": [
        {"subsystem": "bdev", "config": [{"method": "make", "params": {"name": "a"}},
                                         {"method": "make_later"}]},
        {"subsystem": "scheduler", "config": null},
        {"subsystem": "vhost_blk", "config": [{"method": "make", "params": {"name": "b"}}]}]})");
    ASSERT_TRUE(replay_config(config, "test.json", methods, *control).has_value());
    EXPECT_EQ(calls, (std::vector<std::string>{"a", "later", "b"}));
}

TEST_F(ConfigReplayTest, ErrorNamesFileSubsystemCallAndField) {
    const json config = json::parse(R"({"subsystems": [
        {"subsystem": "bdev", "config": [{"method": "make", "params": {"name": "a"}},
                                         {"method": "make", "params": {"name": 7}}]}]})");
    auto result = replay_config(config, "vhostd.json", methods, *control);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().message,
              "vhostd.json: subsystem \"bdev\" call #2 \"make\": params.name: expected a string");
}

TEST_F(ConfigReplayTest, UnknownMethodAndBadShapes) {
    auto unknown = replay_config(
        json::parse(R"({"subsystems": [{"subsystem": "x", "config": [{"method": "nope"}]}]})"),
        "c.json", methods, *control);
    ASSERT_FALSE(unknown.has_value());
    EXPECT_NE(unknown.error().message.find("Method not found: nope"), std::string::npos);
    EXPECT_FALSE(replay_config(json::array(), "c.json", methods, *control).has_value());
    EXPECT_FALSE(replay_config(json::parse(R"({"subsystems": [{"config": []}]})"), "c.json",
                               methods, *control)
                     .has_value());
    EXPECT_FALSE(
        replay_config(json::parse(R"({"subsystems": [{"subsystem": "x", "config": [3]}]})"),
                      "c.json", methods, *control)
            .has_value());
}

TEST_F(ConfigReplayTest, MissingFileAndBadJson) {
    EXPECT_FALSE(replay_config_file("/nonexistent/vhostd.json", methods, *control).has_value());
    const std::string path = ::testing::TempDir() + "/bad.json";
    FILE* f = fopen(path.c_str(), "w");
    fputs("{\"subsystems\": [", f);
    fclose(f);
    auto bad = replay_config_file(path, methods, *control);
    ASSERT_FALSE(bad.has_value());
    EXPECT_NE(bad.error().message.find("not valid JSON"), std::string::npos);
}

}  // namespace
}  // namespace vhostd::rpc

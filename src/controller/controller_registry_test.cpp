// ControllerRegistry: names, deletion refused while in use and finished after the shutdown,
// release of what a controller holds, shutdown of all, and save_config by kind.
#include "controller/controller_registry.hpp"

#include <optional>

#include <gtest/gtest.h>

#include "controller/controller_rpc.hpp"

namespace vhostd::controller {
namespace {

class FakeController final : public Controller {
  public:
    FakeController(std::string name, std::string kind) : name_(std::move(name)), kind_(kind) {}

    [[nodiscard]] const std::string& name() const override { return name_; }
    [[nodiscard]] std::string_view kind() const override { return kind_; }
    [[nodiscard]] std::string_view family() const override { return "fake"; }
    [[nodiscard]] const CpuMask& cpumask() const override { return mask_; }
    [[nodiscard]] bool in_use() const override { return in_use_flag; }
    [[nodiscard]] nlohmann::json describe() const override { return {{"ctrlr", name_}}; }
    [[nodiscard]] nlohmann::json config_calls() const override {
        return nlohmann::json::array({{{"method", "fake_create"}, {"params", {{"name", name_}}}}});
    }
    [[nodiscard]] std::vector<queue::QueueCounters> queue_counters() const override { return {}; }
    void shutdown(std::move_only_function<void()> done) override {
        pending_shutdown = std::move(done);
    }
    // What the controller does when its queues have drained: like a real one, it calls back
    // from a local (the callback may delete the controller).
    void finish_shutdown() {
        auto done = std::move(pending_shutdown);
        done();
    }
    void release() override {
        if (released != nullptr) {
            ++*released;
        }
    }

    bool in_use_flag = false;
    std::move_only_function<void()> pending_shutdown;
    int* released = nullptr;

  private:
    std::string name_;
    std::string kind_;
    CpuMask mask_ = CpuMask::single(0);
};

TEST(ControllerName, AllowsPortableFileNamesOnly) {
    EXPECT_TRUE(check_controller_name("vhost.0").has_value());
    EXPECT_TRUE(check_controller_name("naa.Nvme0n1_scsi0:1-a").has_value());
    for (const char* bad : {"", ".hidden", "-opt", "a/b", "a\nb", "a b", "a\\b", "ä"}) {
        EXPECT_FALSE(check_controller_name(bad).has_value()) << bad;
    }
    EXPECT_FALSE(check_controller_name(std::string(65, 'a')).has_value());
}

TEST(ControllerRegistry, DeletionWaitsForTheShutdownAndIsRefusedWhileInUse) {
    ControllerRegistry registry;
    int released = 0;
    auto c = std::make_unique<FakeController>("c0", "fake_kind");
    FakeController* raw = c.get();
    raw->released = &released;
    ASSERT_TRUE(registry.add(std::move(c)).has_value());
    EXPECT_FALSE(registry.add(std::make_unique<FakeController>("c0", "fake_kind")).has_value());
    EXPECT_EQ(registry.find("c0"), raw);

    raw->in_use_flag = true;
    std::optional<Result<void>> result;
    registry.remove("c0", [&](Result<void> r) { result = std::move(r); });
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->error().code, EBUSY);

    raw->in_use_flag = false;
    result.reset();
    registry.remove("c0", [&](Result<void> r) { result = std::move(r); });
    EXPECT_FALSE(result.has_value()) << "finished before the queues drained";
    EXPECT_NE(registry.find("c0"), nullptr);
    raw->finish_shutdown();
    ASSERT_TRUE(result.has_value());
    EXPECT_TRUE(result->has_value());
    EXPECT_EQ(released, 1);
    EXPECT_EQ(registry.find("c0"), nullptr);

    result.reset();
    registry.remove("c0", [&](Result<void> r) { result = std::move(r); });
    EXPECT_EQ(result->error().code, ENODEV);
}

TEST(ControllerRegistry, ShutdownAllCallsBackOnceEveryControllerIsDown) {
    ControllerRegistry registry;
    std::vector<FakeController*> raw;
    for (const char* name : {"a", "b", "c"}) {
        auto c = std::make_unique<FakeController>(name, "fake_kind");
        raw.push_back(c.get());
        ASSERT_TRUE(registry.add(std::move(c)).has_value());
    }
    bool done = false;
    registry.shutdown_all([&] { done = true; });
    raw[0]->finish_shutdown();
    raw[2]->finish_shutdown();
    EXPECT_FALSE(done);
    raw[1]->finish_shutdown();
    EXPECT_TRUE(done);
}

TEST(ControllerRegistry, SaveConfigWritesEachKindItsOwnControllersInOrder) {
    ControllerRegistry registry;
    ASSERT_TRUE(registry.add(std::make_unique<FakeController>("x1", "kind_x")).has_value());
    ASSERT_TRUE(registry.add(std::make_unique<FakeController>("y1", "kind_y")).has_value());
    ASSERT_TRUE(registry.add(std::make_unique<FakeController>("x2", "kind_x")).has_value());
    rpc::MethodTable methods;
    rpc::ConfigRegistry config;
    block::BdevRegistry bdevs;
    auto control = reactor::Reactor::create(0).value();
    auto reactors = reactor::ReactorGroup::create(CpuMask::single(0), {}).value();
    ControllerContext context{methods, config, registry, bdevs, *control, *reactors, "/tmp", {}};
    register_controller_kind(context, "kind_x");
    register_controller_kind(context, "kind_y");
    const auto* x = config.find("kind_x");
    ASSERT_NE(x, nullptr);
    EXPECT_EQ(x->depends_on, std::vector<std::string>{"bdev"});
    const nlohmann::json calls = config.config(*x);
    ASSERT_EQ(calls.size(), 2U);
    EXPECT_EQ(calls[0]["params"]["name"], "x1");
    EXPECT_EQ(calls[1]["params"]["name"], "x2");

    auto listed = list_family(registry, "fake", std::nullopt);
    ASSERT_TRUE(listed.has_value());
    EXPECT_EQ(listed->size(), 3U);
    EXPECT_FALSE(list_family(registry, "fake", "nope").has_value());
}

}  // namespace
}  // namespace vhostd::controller

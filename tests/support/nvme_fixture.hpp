// NvmeControllerTest: a controller over a malloc bdev, with a control reactor and I/O
// reactors all driven from the test thread (run_once), guest RAM and a FakeNvmeDriver
// (tests only; the test binary links vhostd_nvme and vhostd_malloc).
#pragma once

#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "block/backends/malloc/malloc_bdev.hpp"
#include "nvme/controller.hpp"
#include "reactor/reactor.hpp"
#include "support/nvme_driver.hpp"

namespace vhostd::nvme::testing {

class NvmeControllerTest : public ::testing::Test {
  protected:
    static constexpr uint32_t kBlockSize = 512;
    static constexpr uint64_t kBlocks = 8192;  // 4 MiB

    std::unique_ptr<reactor::Reactor> control =
        reactor::Reactor::create(100, {reactor::PollMode::always, {}, -1}).value();
    std::vector<std::unique_ptr<reactor::Reactor>> io;
    std::shared_ptr<block::Bdev> bdev =
        block::bdev_malloc_create(
            {.name = "Malloc0", .num_blocks = kBlocks, .block_size = kBlockSize})
            .value();
    GuestRam ram{16 << 20};
    std::unique_ptr<Controller> controller;
    std::unique_ptr<FakeNvmeDriver> driver;

    void pump() {
        control->run_once();
        for (auto& r : io) {
            r->run_once();
        }
    }

    // A controller on `reactors` I/O reactors with the driver attached and memory mapped.
    void make(ControllerOptions options = {}, size_t reactors = 2) {
        for (size_t i = 0; i < reactors; ++i) {
            io.push_back(reactor::Reactor::create(static_cast<unsigned>(i),
                                                  {reactor::PollMode::always, {}, -1})
                             .value());
        }
        std::vector<reactor::Reactor*> raw;
        for (auto& r : io) {
            raw.push_back(r.get());
        }
        auto created = Controller::create(*control, raw, options);
        ASSERT_TRUE(created.has_value()) << created.error().describe();
        controller = std::move(*created);
        driver = std::make_unique<FakeNvmeDriver>(*controller, ram, [this] { pump(); });
        driver->map_memory();
    }

    // make(), namespace 1 over the bdev, controller enabled with namespace notices on.
    void start(ControllerOptions options = {}, size_t reactors = 2) {
        make(options, reactors);
        ASSERT_TRUE(controller->add_namespace({.nsid = 1, .bdev = bdev}).has_value());
        ASSERT_TRUE(driver->wait_for([&] { return controller->namespaces()[0].active; }));
        ASSERT_TRUE(driver->enable());
        auto aec = driver->run_admin(FakeNvmeDriver::set_features(
            nvme_spec::feature::kAsyncEventConfig, nvme_spec::kAecNamespaceAttributeNotices));
        ASSERT_TRUE(aec.has_value());
    }

    void TearDown() override {
        driver.reset();
        if (controller) {
            bool down = false;
            controller->shutdown([&] { down = true; });
            for (int i = 0; i < 100000 && !down; ++i) {
                pump();
            }
            EXPECT_TRUE(down);
            for (int i = 0; i < 10; ++i) {
                pump();  // retired eventfds and the last messages
            }
            controller.reset();
        }
    }

    // Status field of a completion (phase tag dropped).
    static uint16_t status_of(const std::optional<nvme_spec::Completion>& c) {
        return c ? static_cast<uint16_t>(c->status >> 1) : 0xffff;
    }
};

}  // namespace vhostd::nvme::testing

// What the NVMe fuzz targets share: a controller over a small malloc bdev on one reactor
// (driven with run_once), guest RAM whose first 64 KiB the input fills (commands point there:
// PRP lists, SGL segments, DSM ranges, data), and the test driver. Each input starts from a
// freshly enabled controller so a crash reproduces from its input alone.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>

#include "base/log.hpp"
#include "block/backends/malloc/malloc_bdev.hpp"
#include "fuzz_check.hpp"
#include "nvme/controller.hpp"
#include "support/nvme_driver.hpp"

namespace nvme_fuzz {

using namespace vhostd;

// Guest-physical address of the input-filled area (the RAM's first allocation).
constexpr uint64_t kDataGpa = nvme::testing::GuestRam::kBase;
constexpr size_t kDataSize = 64 * 1024;

struct Fixture {
    std::unique_ptr<reactor::Reactor> control =
        reactor::Reactor::create(1, {reactor::PollMode::always, {}, -1}).value();
    std::unique_ptr<reactor::Reactor> io =
        reactor::Reactor::create(0, {reactor::PollMode::always, {}, -1}).value();
    std::shared_ptr<block::Bdev> bdev =
        block::bdev_malloc_create({.name = "Fuzz0", .num_blocks = 1024, .block_size = 512}).value();
    nvme::testing::GuestRam ram{1 << 20};
    uint64_t data = ram.alloc(kDataSize);
    size_t mark = ram.used();  // queues are allocated after the data area, anew per input
    std::unique_ptr<nvme::Controller> controller;
    std::unique_ptr<nvme::testing::FakeNvmeDriver> driver;

    Fixture() {
        log::set_level(log::Level::off);
        FUZZ_CHECK(data == kDataGpa);
        controller = nvme::Controller::create(*control, {io.get()},
                                              nvme::ControllerOptions{.num_io_queues = 4})
                         .value();
        driver =
            std::make_unique<nvme::testing::FakeNvmeDriver>(*controller, ram, [this] { pump(); });
        driver->map_memory();
        FUZZ_CHECK(controller->add_namespace({.nsid = 1, .bdev = bdev}).has_value());
        FUZZ_CHECK(driver->wait_for([&] { return controller->namespaces()[0].active; }));
    }

    void pump() {
        control->run_once();
        io->run_once();
    }

    // A controller reset, then enabled again; the input area refilled.
    void begin(const uint8_t* input, size_t size) {
        if (driver->read32(nvme_spec::reg::kCsts) != 0) {
            FUZZ_CHECK(driver->disable());
        }
        ram.rewind(mark);
        std::memset(ram.host(kDataGpa), 0, kDataSize);
        std::memcpy(ram.host(kDataGpa), input, std::min(size, kDataSize));
        FUZZ_CHECK(driver->enable());
    }
};

}  // namespace nvme_fuzz

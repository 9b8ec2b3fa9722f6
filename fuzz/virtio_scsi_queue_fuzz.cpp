// Fuzzes the virtio-scsi device-side paths with guest memory the input controls: the split
// ring (avail index, entries, descriptor table, indirect tables) and every buffer (command
// headers, LUN fields, CDBs, data-out, TMF and AN requests). A ScsiDevice with target 0 over a
// small malloc bdev serves a request queue or the control queue on a reactor.
// Checks: no crash or out-of-bounds access (ASan), every request taken is answered or the ring
// is flagged broken, and a stop always finishes (no task or TMF hangs).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/log.hpp"
#include "block/backends/malloc/malloc_bdev.hpp"
#include "devices/virtio_scsi/scsi_device.hpp"
#include "fuzz_check.hpp"
#include "spec/virtio.hpp"

namespace {

using namespace vhostd;

constexpr uint64_t kGpa = 0x10000;
constexpr size_t kRamSize = 64 * 1024;
// Fixed ring placement at the start of guest RAM (queues of up to 16 entries), so that short
// inputs reach it; everything else is the input's to fill.
constexpr uint64_t kDescOffset = 0;
constexpr uint64_t kAvailOffset = 0x100;
constexpr uint64_t kUsedOffset = 0x140;

struct Fixture {
    std::unique_ptr<reactor::Reactor> reactor =
        reactor::Reactor::create(0, {reactor::PollMode::always, {}, -1}).value();
    std::shared_ptr<virtio_scsi::ScsiDevice> device;

    Fixture() {
        log::set_level(log::Level::off);
        device = std::make_shared<virtio_scsi::ScsiDevice>(
            *reactor, std::vector<reactor::Reactor*>{reactor.get()},
            virtio_scsi::ScsiDeviceOptions{});
        auto bdev =
            block::bdev_malloc_create({.name = "Fuzz0", .num_blocks = 256, .block_size = 512})
                .value();
        FUZZ_CHECK(device->add_target(0, bdev).has_value());
        for (int i = 0; i < 4; ++i) {
            reactor->run_once();
        }
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Fixture fixture;
    if (size < 2) {
        return 0;
    }
    // Byte 0: queue size (power of two, 1..16) and ring features; byte 1: which queue
    // (bit 0: the control queue, else a request queue); the rest is guest RAM.
    const uint16_t queue_size = static_cast<uint16_t>(1U << (data[0] % 5));
    const bool event_idx = (data[0] & 0x40) != 0;
    const bool indirect = (data[0] & 0x80) != 0;
    const uint16_t index =
        (data[1] & 1) != 0 ? virtio_scsi::kControlQueue : virtio_scsi::kFirstRequestQueue;
    std::vector<uint8_t> ram(kRamSize);
    std::memcpy(ram.data(), data + 2, std::min(size - 2, kRamSize));

    auto memory = guest_memory::GuestMemory::create(
                      {guest_memory::MappedRegion::borrow(ram.data(), {kGpa, kRamSize, kGpa, 0})})
                      .value();
    virtio::VirtqueueConfig config;
    config.index = index;
    config.ring = virtio::SplitRing{ram.data() + kDescOffset, ram.data() + kAvailOffset,
                                    ram.data() + kUsedOffset, queue_size};
    config.features = (event_idx ? virtio::bit(virtio::feature::kEventIdx) : 0) |
                      (indirect ? virtio::bit(virtio::feature::kIndirectDesc) : 0);
    config.memory = memory;
    uint16_t used_before;
    std::memcpy(&used_before, ram.data() + kUsedOffset + 2, 2);

    auto handler = fixture.device->create_queue_handler(*fixture.reactor,
                                                        virtio::RunningQueue(std::move(config)));
    FUZZ_CHECK(handler.has_value());
    FUZZ_CHECK((*handler)->start().has_value());
    for (int i = 0; i < 8; ++i) {
        fixture.reactor->run_once();
    }
    bool stopped = false;
    virtio::QueueStopResult result;
    (*handler)->stop([&](virtio::QueueStopResult r) {
        stopped = true;
        result = r;
    });
    for (int i = 0; i < 256 && !stopped; ++i) {
        fixture.reactor->run_once();
    }
    FUZZ_CHECK(stopped);  // every request taken was completed: nothing can hang a stop
    uint16_t used_after;
    std::memcpy(&used_after, ram.data() + kUsedOffset + 2, 2);
    const uint16_t taken =
        static_cast<uint16_t>(result.ring_base);  // the ring started at avail index 0
    const uint16_t completed = static_cast<uint16_t>(used_after - used_before);
    FUZZ_CHECK(completed <= taken);
    FUZZ_CHECK(result.broken || completed == taken);
    handler->reset();
    for (int i = 0; i < 4; ++i) {
        fixture.reactor->run_once();  // messages the queue posted to itself find it gone
    }
    return 0;
}

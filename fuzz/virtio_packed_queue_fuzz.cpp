// Fuzzes the packed-ring device side with guest memory the input controls: the descriptor
// ring (flags, wrap counters, NEXT lists, buffer IDs), indirect tables, the driver's event
// suppression area, the ring base, and the order in which the device completes what it took;
// optionally with inflight tracking into a region the input also fills. Checks: no crash or
// out-of-bounds access (ASan), buffer IDs taken are in range and never twice in flight, walked
// chains stay within their limits, and the ring base round-trips.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/log.hpp"
#include "fuzz_check.hpp"
#include "guest_memory/guest_memory.hpp"
#include "virtio/inflight_region.hpp"
#include "virtio/packed_queue.hpp"

namespace {

using namespace vhostd;
using namespace vhostd::virtio;

constexpr uint64_t kGpa = 0x10000;
constexpr size_t kRamSize = 16 * 1024;
// Fixed placement at the start of guest RAM (rings of up to 24 entries): descriptor ring,
// driver area, device area; the rest is buffers and indirect tables.
constexpr size_t kDescOffset = 0;
constexpr size_t kDriverOffset = 0x200;
constexpr size_t kDeviceOffset = 0x204;
constexpr size_t kInflightBytes = 1024;

struct Input {
    const uint8_t* data;
    size_t size;
    size_t at = 0;
    uint8_t byte() { return at < size ? data[at++] : 0; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool quiet = [] {
        log::set_level(log::Level::off);
        return true;
    }();
    (void)quiet;
    if (size < 8) {
        return 0;
    }
    // Bytes 0-4: queue size (1..24), ring features, base, inflight; byte 5..7: run script seed;
    // then guest RAM, then (with inflight) the region's bytes.
    Input in{data, size};
    const auto queue_size = static_cast<uint16_t>(1 + in.byte() % 24);
    const uint8_t flags = in.byte();
    const bool event_idx = (flags & 1) != 0;
    const bool indirect = (flags & 2) != 0;
    const bool tracked = (flags & 4) != 0;
    const uint16_t avail_raw = static_cast<uint16_t>(in.byte() | in.byte() << 8);
    const uint8_t used_raw = in.byte();
    const PackedBase base{PackedPosition::decode(avail_raw),
                          PackedPosition::decode(static_cast<uint16_t>(used_raw | 0x8000))};
    std::vector<uint8_t> script(3);
    for (auto& s : script) {
        s = in.byte();
    }
    alignas(16) static std::array<uint8_t, kRamSize> ram;
    ram.fill(0);
    const size_t ram_bytes = std::min(size - in.at, kRamSize);
    std::memcpy(ram.data(), data + in.at, ram_bytes);
    in.at += ram_bytes;

    auto memory = guest_memory::GuestMemory::create(
                      {guest_memory::MappedRegion::borrow(ram.data(), {kGpa, kRamSize, kGpa, 0})})
                      .value();
    alignas(64) static std::array<uint8_t, kInflightBytes> region_bytes;
    region_bytes.fill(0);
    InflightSlot slot;
    if (tracked &&
        InflightRegion::queue_bytes(InflightLayout::packed, queue_size) <= kInflightBytes) {
        std::memcpy(region_bytes.data(), data + in.at, std::min(size - in.at, kInflightBytes));
        auto region =
            InflightRegion::borrow(InflightLayout::packed, region_bytes.data(), 1, queue_size);
        if (region) {
            slot = InflightSlot{std::move(*region), 0};
        }
    }

    PackedQueue q(
        PackedRing{ram.data() + kDescOffset, ram.data() + kDriverOffset, ram.data() + kDeviceOffset,
                   queue_size},
        *memory,
        PackedQueue::Options{
            .event_idx = event_idx, .indirect = indirect, .base = base, .inflight = slot});
    FUZZ_CHECK(PackedBase::decode(q.ring_base()).encode() == q.ring_base());
    const ChainLimits limits{.max_descriptors = 32, .max_total_bytes = 1 << 20};
    std::vector<uint8_t> in_flight(queue_size, 0);
    std::vector<uint16_t> taken;
    std::array<iovec, 48> iov{};
    // A few rounds: take, walk, complete some (in an input-chosen order), publish; notifications
    // toggled in between.
    for (int round = 0; round < 6 && !q.broken(); ++round) {
        std::array<uint32_t, 16> ids{};
        const size_t n = q.take(std::span(ids).first(1 + script[round % 3] % 16));
        for (size_t i = 0; i < n; ++i) {
            FUZZ_CHECK(ids[i] < queue_size);
            FUZZ_CHECK(in_flight[ids[i]] == 0);  // never handed out twice while in flight
            in_flight[ids[i]] = 1;
            const DescriptorChain chain = q.walk(static_cast<uint16_t>(ids[i]), limits, iov);
            FUZZ_CHECK(chain.descriptors <= limits.max_descriptors + 1);
            FUZZ_CHECK(chain.iov.size() <= iov.size());
            FUZZ_CHECK(chain.readable_bytes + chain.writable_bytes <= limits.max_total_bytes + 1);
            taken.push_back(static_cast<uint16_t>(ids[i]));
        }
        // Complete an input-chosen subset, newest first or oldest first.
        const uint8_t how = script[(round + 1) % 3];
        if ((how & 1) != 0) {
            std::reverse(taken.begin(), taken.end());
        }
        const size_t complete = taken.size() * (how >> 1 & 3) / 3;
        for (size_t i = 0; i < complete; ++i) {
            q.push_used(taken[i], how);
            in_flight[taken[i]] = 0;
        }
        taken.erase(taken.begin(), taken.begin() + static_cast<ptrdiff_t>(complete));
        (void)q.publish_used();
        if ((how & 0x80) != 0) {
            (void)q.enable_notifications();
        } else {
            q.disable_notifications();
        }
    }
    FUZZ_CHECK(q.avail_position().index < queue_size || q.broken());
    FUZZ_CHECK(q.used_position().index < queue_size || q.broken());
    return 0;
}

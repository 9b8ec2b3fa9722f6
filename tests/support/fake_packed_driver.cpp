// FakePackedDriver: the frontend's PackedDriverRing over GuestRam, seen by the device as
// GuestMemory.
#include "support/fake_packed_driver.hpp"

#include <stdexcept>

namespace vhostd::virtio::testing {
namespace {

template <class T>
T must(Result<T> r, const char* what) {
    if (!r) {
        throw std::runtime_error(std::string(what) + ": " + r.error().describe());
    }
    return std::move(*r);
}

guest_memory::GuestMemory::Ptr device_view(const frontend::GuestRam& ram) {
    std::vector<guest_memory::GuestMemory::RegionPtr> regions;
    for (const auto& r : ram.regions()) {
        regions.push_back(guest_memory::MappedRegion::borrow(
            r.host, {r.gpa, r.size, reinterpret_cast<uint64_t>(r.host), 0}));
    }
    return guest_memory::GuestMemory::create(std::move(regions)).value();
}

}  // namespace

FakePackedDriver::FakePackedDriver(uint16_t queue_size, bool event_idx, uint16_t indirect_max,
                                   size_t ram_bytes)
    : ram_(must(frontend::GuestRam::create(ram_bytes, kRamBase), "FakePackedDriver RAM")),
      ring_(must(
          frontend::PackedDriverRing::create(
              ram_, {.size = queue_size, .event_idx = event_idx, .indirect_max = indirect_max}),
          "FakePackedDriver ring")),
      memory_(device_view(ram_)) {}

PackedRing FakePackedDriver::ring() {
    return PackedRing{host(ring_.desc_gpa()), host(ring_.driver_event_gpa()),
                      host(ring_.device_event_gpa()), ring_.size()};
}

uint64_t FakePackedDriver::alloc(size_t bytes, size_t align) {
    return must(ram_.alloc(bytes, align), "FakePackedDriver out of guest RAM").gpa;
}

uint8_t* FakePackedDriver::host(uint64_t gpa) {
    return ram_.host(gpa);
}

uint16_t FakePackedDriver::submit(const std::vector<Segment>& segments, bool indirect) {
    std::vector<frontend::Segment> list;
    for (const Segment& s : segments) {
        list.push_back({s.gpa, s.len, s.writable});
    }
    const auto id = ring_.add(list, 0, indirect);
    if (!id) {
        throw std::runtime_error("FakePackedDriver: the list does not fit");
    }
    (void)ring_.publish();
    return *id;
}

std::optional<frontend::UsedEntry> FakePackedDriver::pop_used() {
    frontend::UsedEntry entry;
    auto n = ring_.poll({&entry, 1});
    if (!n || *n == 0) {
        return std::nullopt;
    }
    return entry;
}

}  // namespace vhostd::virtio::testing

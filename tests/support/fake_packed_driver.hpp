// FakePackedDriver: the driver side of a packed virtqueue for unit tests and fuzzers of the
// device side: the frontend's PackedDriverRing over frontend GuestRam, plus the device's view of
// that RAM as a GuestMemory snapshot. Builds well-formed lists and writes any raw descriptor a
// hostile driver could.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "frontend/guest_ram.hpp"
#include "frontend/packed_driver_ring.hpp"
#include "guest_memory/guest_memory.hpp"
#include "spec/virtio.hpp"
#include "support/fake_driver.hpp"
#include "virtio/packed_queue.hpp"

namespace vhostd::virtio::testing {

class FakePackedDriver {
  public:
    static constexpr uint64_t kRamBase = 0x100000;

    FakePackedDriver(uint16_t queue_size, bool event_idx = false, uint16_t indirect_max = 0,
                     size_t ram_bytes = 2 << 20);

    [[nodiscard]] const guest_memory::GuestMemory::Ptr& memory() const { return memory_; }
    [[nodiscard]] PackedRing ring();
    [[nodiscard]] uint16_t size() const { return ring_.size(); }
    [[nodiscard]] frontend::PackedDriverRing& driver() { return ring_; }

    // Guest RAM helpers.
    uint64_t alloc(size_t bytes, size_t align = 16);
    uint8_t* host(uint64_t gpa);

    // Adds a list (or one indirect table) and publishes it; returns the buffer ID.
    uint16_t submit(const std::vector<Segment>& segments, bool indirect = false);
    // Harvests the next used descriptor the device made visible.
    std::optional<frontend::UsedEntry> pop_used();

  private:
    frontend::GuestRam ram_;
    frontend::PackedDriverRing ring_;
    guest_memory::GuestMemory::Ptr memory_;
};

}  // namespace vhostd::virtio::testing

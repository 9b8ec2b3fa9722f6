// FakeDriver: the driver side of a split virtqueue for unit tests and fuzzers of the device
// side: the frontend's DriverQueue (the one driver-side ring vhostd has) over frontend
// GuestRam, plus the device's view of that RAM as a GuestMemory snapshot. It builds well-formed
// chains and also writes any raw value a hostile driver could, through DriverQueue's raw
// access.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "frontend/driver_queue.hpp"
#include "frontend/guest_ram.hpp"
#include "guest_memory/guest_memory.hpp"
#include "spec/virtio.hpp"
#include "virtio/split_queue.hpp"

namespace vhostd::virtio::testing {

struct Segment {
    uint64_t gpa;
    uint32_t len;
    bool writable;
};

class FakeDriver {
  public:
    static constexpr uint64_t kRamBase = 0x100000;

    // `ram_bytes` of guest RAM at kRamBase (split into two adjacent regions when
    // `split_at` is non-zero, to exercise region crossing), with a ring of `queue_size`.
    explicit FakeDriver(uint16_t queue_size, size_t ram_bytes = 1 << 20, size_t split_at = 0);

    [[nodiscard]] const guest_memory::GuestMemory::Ptr& memory() const { return memory_; }
    [[nodiscard]] SplitRing ring();
    [[nodiscard]] uint16_t size() const { return size_; }

    // Guest RAM helpers.
    uint64_t alloc(size_t bytes, size_t align = 16);
    uint8_t* host(uint64_t gpa);
    void write(uint64_t gpa, const void* data, size_t len);
    void read(uint64_t gpa, void* data, size_t len);

    // Writes a chain into free descriptors (or one indirect table) and makes it available.
    // Returns the head.
    uint16_t submit(const std::vector<Segment>& segments, bool indirect = false);

    // Raw access for hostile tests.
    void set_desc(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
    void set_indirect_desc(uint64_t table_gpa, uint16_t index, uint64_t addr, uint32_t len,
                           uint16_t flags, uint16_t next);
    void push_avail(uint16_t head);  // ring entry + idx bump
    void set_avail_idx(uint16_t idx);
    void set_avail_flags(uint16_t flags);
    void set_used_event(uint16_t event);

    // Device-written state.
    [[nodiscard]] uint16_t used_idx();
    [[nodiscard]] VringUsedElem used_elem(uint16_t slot);
    [[nodiscard]] uint16_t used_flags();
    [[nodiscard]] uint16_t avail_event();
    // Next used element the driver has not consumed yet.
    std::optional<VringUsedElem> pop_used();

  private:
    uint16_t size_;
    frontend::GuestRam ram_;
    frontend::DriverQueue queue_;
    guest_memory::GuestMemory::Ptr memory_;
    uint16_t next_desc_ = 0;
    uint16_t last_used_ = 0;
};

}  // namespace vhostd::virtio::testing

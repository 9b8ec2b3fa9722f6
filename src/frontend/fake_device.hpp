// Test helper: the device side of a split ring, reading the ring straight out of GuestRam as a
// back-end would (through GPAs, not the driver's pointers), plus a toy virtio-blk device on top.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frontend/driver_queue.hpp"
#include "frontend/guest_ram.hpp"

namespace vhostd::frontend::testing {

struct FakeChain {
    uint16_t head = 0;
    bool indirect = false;
    std::vector<Segment> segments;
};

class FakeDevice {
  public:
    FakeDevice(const GuestRam& ram, const DriverQueue& queue);

    // Takes every available head and walks its chain (direct or one indirect table).
    std::vector<FakeChain> pop_all();
    void push_used(uint16_t head, uint32_t len);
    // Publishes pushed elements; signals the call fd if the driver's suppression state asks for
    // it (flags, or used_event with EVENT_IDX). Returns whether it signalled.
    bool publish_used();

    // Device-side notification suppression.
    void set_no_notify(bool on);
    void set_avail_event(uint16_t value);

    [[nodiscard]] uint16_t last_avail() const { return last_avail_; }
    [[nodiscard]] uint16_t used_idx() const { return used_idx_; }
    [[nodiscard]] uint8_t* host(uint64_t gpa, uint64_t len) const { return ram_->host(gpa, len); }

  private:
    const GuestRam* ram_;
    int call_fd_;
    uint16_t size_;
    bool event_idx_;
    uint8_t* desc_;
    uint8_t* avail_;
    uint8_t* used_;
    uint16_t last_avail_ = 0;
    uint16_t used_idx_ = 0;
    uint16_t published_used_ = 0;
};

// A RAM disk behind a FakeDevice that understands the virtio-blk request format.
class FakeBlkDevice {
  public:
    FakeBlkDevice(const GuestRam& ram, const DriverQueue& queue, uint64_t sectors)
        : device_(ram, queue), disk_(sectors * 512) {}

    // Serves every available request; returns how many.
    size_t process();

    std::vector<uint8_t>& disk() { return disk_; }
    FakeDevice& device() { return device_; }
    std::string serial = "fake-serial";
    uint32_t last_type = 0;
    size_t flushes = 0;

  private:
    FakeDevice device_;
    std::vector<uint8_t> disk_;
};

}  // namespace vhostd::frontend::testing

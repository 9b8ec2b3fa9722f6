// Virtqueue: the device side of one virtqueue's ring, whatever its layout: the split ring
// (split_queue.hpp) today, the packed ring as a second implementation. Devices and the queue
// handler only use this interface, one virtual call per batch or per request.
#pragma once

#include <cstdint>
#include <span>

#include <sys/uio.h>

#include "virtio/descriptor_chain.hpp"

namespace vhostd::guest_memory {
class GuestMemory;
}

namespace vhostd::virtio {

class Virtqueue {
  public:
    virtual ~Virtqueue() = default;

    [[nodiscard]] virtual uint16_t size() const = 0;
    [[nodiscard]] bool broken() const { return broken_ != nullptr; }
    [[nodiscard]] const char* broken_reason() const { return broken_; }
    // Stops the ring for good (until the transport restarts it); `reason` must be a literal.
    void mark_broken(const char* reason) {
        if (broken_ == nullptr) {
            broken_ = reason;
        }
    }

    // --- available side ---
    // Takes up to heads.size() chains the driver made available and starts loading their first
    // descriptors into the cache, so a batch is fetched from the driver's core in parallel;
    // returns how many. A ring the driver corrupted breaks (and yields nothing more).
    virtual size_t take(std::span<uint32_t> heads) = 0;
    // Walks the chain at `head` (from take()); a ring-level error breaks the ring.
    [[nodiscard]] virtual DescriptorChain walk(uint16_t head, const ChainLimits& limits,
                                               std::span<iovec> storage) = 0;
    // Where the device would continue: VHOST_USER_GET_VRING_BASE's value (the split ring's
    // next avail index; a packed ring adds its wrap counter in bit 15).
    [[nodiscard]] virtual uint32_t ring_base() const = 0;

    // Memory hot-plug: chains are walked in `memory` from now on. The ring's own parts must lie
    // in regions `memory` shares with the table the ring was started with (they stay mapped).
    virtual void set_memory(const guest_memory::GuestMemory& memory) = 0;

    // --- used side ---
    // Writes a used element for `head`; not visible to the driver until publish_used().
    virtual void push_used(uint16_t head, uint32_t written) = 0;
    // Makes pushed elements visible. Returns true if the driver must be interrupted for them.
    [[nodiscard]] virtual bool publish_used() = 0;

    // --- driver notifications (kicks) ---
    // Asks the driver to kick for new buffers, then looks again: true if work arrived meanwhile
    // (the caller must not sleep).
    [[nodiscard]] virtual bool enable_notifications() = 0;
    // Tells the driver not to kick (we are polling).
    virtual void disable_notifications() = 0;

  private:
    const char* broken_ = nullptr;
};

}  // namespace vhostd::virtio

// Device: what a transport (vhost-user today, others later) needs from a virtio device:
// identity, feature bits, queue count, configuration space, and a handler per started queue.
// Transports and devices only meet through this interface.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "base/error.hpp"
#include "reactor/reactor.hpp"
#include "virtio/queue_handler.hpp"
#include "virtio/running_queue.hpp"

namespace vhostd::virtio {

class Device {
  public:
    virtual ~Device() = default;

    [[nodiscard]] virtual uint32_t device_type() const = 0;  // device_id::k*
    // Device and ring features offered to the driver (VERSION_1, EVENT_IDX, ...).
    [[nodiscard]] virtual uint64_t features() const = 0;
    [[nodiscard]] virtual uint16_t num_queues() const = 0;
    [[nodiscard]] virtual uint16_t max_queue_size() const = 0;

    // Configuration space; the transport checks offset and length against config_size().
    [[nodiscard]] virtual uint32_t config_size() const = 0;
    virtual void read_config(uint32_t offset, std::span<uint8_t> out) const = 0;
    // Driver writes to writable fields (e.g. virtio-blk's writeback); others are refused.
    virtual Result<void> write_config(uint32_t offset, std::span<const uint8_t> data) = 0;

    // The driver has accepted `features` (a subset of features()).
    virtual void set_driver_features(uint64_t features) = 0;
    // Device reset (RESET_OWNER/RESET_DEVICE, or a new frontend): config back to defaults.
    virtual void reset() = 0;

    // Builds the handler for a started queue. Called on `reactor`'s thread; the caller then
    // start()s it. Thread-safety: several reactors may call this concurrently.
    virtual Result<std::unique_ptr<QueueHandler>> create_queue_handler(reactor::Reactor& reactor,
                                                                       RunningQueue queue) = 0;
};

}  // namespace vhostd::virtio

// Bdev: a block device as the rest of vhostd sees it (SPDK's word): geometry, capabilities,
// and per-reactor channels through which I/O is submitted. Backends (malloc, null, uring, ...)
// implement Bdev and BackendChannel; they never see virtio or SCSI.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "base/error.hpp"
#include "block/io_request.hpp"
#include "block/qos/qos_state.hpp"
#include "block/stats/io_stats.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::block {

struct Capabilities {
    bool flush = false;         // has a volatile write cache that FLUSH makes durable
    bool discard = false;       // can deallocate ranges
    bool write_zeroes = false;  // zeroes ranges without a data buffer
    bool read_only = false;
    uint32_t max_discard_blocks = 0;       // per request; 0 = no limit
    uint32_t max_write_zeroes_blocks = 0;  // per request; 0 = no limit
    uint32_t optimal_io_blocks = 0;        // 0 = unknown
    uint32_t physical_block_size = 0;      // bytes; 0 = same as the logical block size
    uint32_t max_segments = 0;             // iovec entries per read/write; 0 = no limit
};

// One backend's submission path on one reactor. Created, used and destroyed only on that
// reactor's thread. A channel must not be destroyed while requests are in flight: its owner
// (a queue's stop()) drains every submitted request's completion first, and does not destroy
// the channel from inside a completion callback.
class BackendChannel {
  public:
    virtual ~BackendChannel() = default;
    // Starts `request` (already range-checked against the bdev). Completion comes later via
    // request.completion on this reactor, never inline.
    virtual void submit(IoRequest& request) noexcept = 0;
};

class Bdev {
  public:
    // An empty `uuid` gets a random RFC 4122 version 4 UUID; a given one must be valid
    // (normalize_uuid in block/uuid.hpp), which the backends' factories check.
    Bdev(std::string name, std::string product, uint32_t block_size, uint64_t num_blocks,
         Capabilities caps, std::string uuid = {});
    virtual ~Bdev() = default;
    Bdev(const Bdev&) = delete;
    Bdev& operator=(const Bdev&) = delete;

    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] const std::string& product_name() const { return product_; }  // "Malloc disk"
    [[nodiscard]] uint32_t block_size() const { return block_size_; }
    [[nodiscard]] uint64_t num_blocks() const { return num_blocks_; }
    [[nodiscard]] uint64_t size_bytes() const { return uint64_t{block_size_} * num_blocks_; }
    [[nodiscard]] const Capabilities& capabilities() const { return caps_; }
    // A stable UUID string (generated at creation unless the caller supplied one).
    [[nodiscard]] const std::string& uuid() const { return uuid_; }
    void set_uuid(std::string uuid) { uuid_ = std::move(uuid); }

    // Creates this bdev's channel for `reactor`; called on that reactor's thread.
    virtual Result<std::unique_ptr<BackendChannel>> create_channel(reactor::Reactor& reactor) = 0;

    // The backend's creation parameters as SPDK's "driver_specific" object: one key naming the
    // driver ("malloc", "null", "uring") whose object holds the parameters of the matching
    // bdev_<driver>_create RPC, e.g. {"uring": {"name": ..., "filename": ..., ...}}.
    virtual void describe(nlohmann::json& driver_specific) const = 0;

    // I/O statistics and QoS limits, kept by the bdev channels (block/bdev_channel.hpp).
    [[nodiscard]] stats::BdevStats& stats() { return stats_; }
    [[nodiscard]] const stats::BdevStats& stats() const { return stats_; }
    [[nodiscard]] qos::QosState& qos() { return qos_; }
    [[nodiscard]] const qos::QosState& qos() const { return qos_; }

  private:
    std::string name_;
    std::string product_;
    uint32_t block_size_;
    uint64_t num_blocks_;
    Capabilities caps_;
    std::string uuid_;
    stats::BdevStats stats_;
    qos::QosState qos_;
};

}  // namespace vhostd::block

// Bdev: a block device as the rest of vhostd sees it (SPDK's word): geometry, capabilities,
// and per-reactor channels through which I/O is submitted. Backends (malloc, null, uring, ...)
// implement Bdev and BackendChannel; they never see virtio or SCSI.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

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

// A bdev's size in blocks. The bdev shares it with its channels, so that a resize reaches
// their range checks without a message: written on the control reactor, read anywhere.
using SharedBlockCount = std::shared_ptr<std::atomic<uint64_t>>;

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
    [[nodiscard]] uint64_t num_blocks() const {
        return num_blocks_->load(std::memory_order_relaxed);
    }
    [[nodiscard]] uint64_t size_bytes() const { return uint64_t{block_size_} * num_blocks(); }
    [[nodiscard]] const SharedBlockCount& shared_num_blocks() const { return num_blocks_; }
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

    // --- resize (SPDK's SPDK_BDEV_EVENT_RESIZE): control reactor only ---
    // `listener` runs after each change of num_blocks(). Returns a token for removal.
    using ResizeListener = std::function<void(const Bdev&)>;
    [[nodiscard]] uint64_t add_resize_listener(ResizeListener listener);
    void remove_resize_listener(uint64_t token);

  protected:
    // For backends' resize operations, once their storage has the new size: publishes it to
    // the channels and tells the listeners. A no-op when the size is unchanged.
    void set_num_blocks(uint64_t num_blocks);

  private:
    std::string name_;
    std::string product_;
    uint32_t block_size_;
    SharedBlockCount num_blocks_;
    Capabilities caps_;
    std::string uuid_;
    stats::BdevStats stats_;
    qos::QosState qos_;
    std::vector<std::pair<uint64_t, ResizeListener>> resize_listeners_;
    uint64_t next_listener_token_ = 1;
};

}  // namespace vhostd::block

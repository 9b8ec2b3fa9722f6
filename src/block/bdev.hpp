// Bdev: a block device as its users (devices, SCSI targets, RPC) see it (SPDK's word and its
// bdev.h): name, geometry, capabilities, health, statistics and QoS, events, and the per-reactor
// channels through which I/O is submitted. How a backend provides a bdev is the module
// contract in block/bdev_module.hpp, which users never include.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
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

// Whether a bdev can serve I/O. While it is not online the bdev layer completes every request
// at once with an error (io_error while failed, aborted once removed).
enum class BdevState : uint8_t {
    online,
    failed,   // the backend cannot serve I/O now (media failure, storage unreachable)
    removed,  // hot-removed: it will never serve I/O again
};
const char* to_string(BdevState state);

// What a bdev tells its users (SPDK's spdk_bdev_event_type), on the control reactor.
enum class BdevEvent : uint8_t {
    resized,    // num_blocks() changed
    failed,     // state() became failed
    recovered,  // state() is online again
    removed,    // state() became removed: users should let go of the bdev
};
const char* to_string(BdevEvent event);

// A user's submission path on one reactor. Created, used and destroyed only on that reactor's
// thread. It must not be destroyed while requests are in flight: its owner (a queue's stop())
// drains every submitted request's completion first, and does not destroy the channel from
// inside a completion callback.
class IoChannel {
  public:
    virtual ~IoChannel() = default;
    // Starts `request`. Completion comes later via request.completion on this reactor, never
    // inline.
    virtual void submit(IoRequest& request) noexcept = 0;
};

// A bdev's size in blocks. The bdev shares it with its channels, so that a resize reaches
// their range checks without a message: written on the control reactor, read anywhere.
using SharedBlockCount = std::shared_ptr<std::atomic<uint64_t>>;

class BdevBackend;  // block/bdev_module.hpp

class Bdev final {
  public:
    ~Bdev();
    Bdev(const Bdev&) = delete;
    Bdev& operator=(const Bdev&) = delete;

    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] const std::string& product_name() const { return product_; }  // "Malloc disk"
    // The backend module's name ("malloc", "null", "uring", ...): bdev_<driver>_create made it.
    [[nodiscard]] std::string_view driver() const;
    [[nodiscard]] uint32_t block_size() const { return block_size_; }
    [[nodiscard]] uint64_t num_blocks() const {
        return num_blocks_->load(std::memory_order_relaxed);
    }
    [[nodiscard]] uint64_t size_bytes() const { return uint64_t{block_size_} * num_blocks(); }
    [[nodiscard]] const SharedBlockCount& shared_num_blocks() const { return num_blocks_; }
    [[nodiscard]] const Capabilities& capabilities() const { return caps_; }
    // A stable UUID string (generated at creation unless the caller supplied one).
    [[nodiscard]] const std::string& uuid() const { return uuid_; }
    // Any thread.
    [[nodiscard]] BdevState state() const { return state_.load(std::memory_order_acquire); }

    // I/O statistics and QoS limits, kept by the bdev channels (block/bdev_channel.hpp).
    [[nodiscard]] stats::BdevStats& stats() { return stats_; }
    [[nodiscard]] const stats::BdevStats& stats() const { return stats_; }
    [[nodiscard]] qos::QosState& qos() { return qos_; }
    [[nodiscard]] const qos::QosState& qos() const { return qos_; }

    // The backend's creation parameters as SPDK's "driver_specific" object:
    // {"<driver>": {the parameters of bdev_<driver>_create}}.
    [[nodiscard]] nlohmann::json driver_specific() const;
    // The calls that recreate this bdev (save_config): bdev_<driver>_create with its exact
    // parameters, uuid included.
    [[nodiscard]] nlohmann::json config_calls() const;
    // The backend's run-time state (connections, counters) or null: bdev_get_bdevs shows it as
    // "vhostd_backend".
    [[nodiscard]] nlohmann::json backend_status() const;

    // --- events: control reactor only ---
    // `listener` runs after each event. Returns a token for removal; a listener may remove
    // itself (or another) while it runs.
    using Listener = std::function<void(Bdev&, BdevEvent)>;
    [[nodiscard]] uint64_t add_listener(Listener listener);
    void remove_listener(uint64_t token);

  private:
    friend class BdevModuleAccess;

    Bdev(std::string name, std::string product, uint32_t block_size, uint64_t num_blocks,
         Capabilities caps, std::string uuid, std::unique_ptr<BdevBackend> backend);
    void set_num_blocks(uint64_t num_blocks);
    void report(BdevEvent event);
    void notify(BdevEvent event);

    std::string name_;
    std::string product_;
    uint32_t block_size_;
    SharedBlockCount num_blocks_;
    Capabilities caps_;
    std::string uuid_;
    std::atomic<BdevState> state_{BdevState::online};
    stats::BdevStats stats_;
    qos::QosState qos_;
    std::vector<std::pair<uint64_t, Listener>> listeners_;
    uint64_t next_listener_token_ = 1;
    std::unique_ptr<BdevBackend> backend_;  // last member: destroyed first
};

// Opens `bdev`'s channel on `reactor` (call on that reactor's thread). `done` runs on that
// thread: inside this call for backends that open at once, later for those that need a round
// trip (a network connection). The caller keeps the bdev alive for as long as the channel
// (users hold the bdev's shared_ptr) and must cope with `done` arriving after it lost interest
// (it then just destroys the channel).
using ChannelOpened = std::move_only_function<void(Result<std::unique_ptr<IoChannel>>)>;
void open_channel(Bdev& bdev, reactor::Reactor& reactor, ChannelOpened done);

// The same for callers that cannot wait (tools, tests): EWOULDBLOCK if the backend opens
// asynchronously.
Result<std::unique_ptr<IoChannel>> open_channel_now(Bdev& bdev, reactor::Reactor& reactor);

}  // namespace vhostd::block

// ScsiClient: a vhost-user-scsi frontend (what QEMU does for a vhost-user-scsi-pci device)
// for integration tests: negotiates, hands over guest RAM and the control, event and request
// queues (split or packed), and speaks virtio-scsi on them: commands (synchronous, or several
// in flight at once), task management, asynchronous notification queries, hot-plug events, and
// raw chains for hostile tests. With the inflight region it reconnects to a restarted
// back-end without losing a command (QEMU 7.2 cannot do that for vhost-user-scsi).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "frontend/connection.hpp"
#include "frontend/driver_queue.hpp"
#include "frontend/guest_ram.hpp"
#include "frontend/inflight_fd.hpp"
#include "spec/virtio.hpp"
#include "spec/virtio_scsi.hpp"

namespace vhostd::frontend {

namespace scsi = virtio_scsi;

// One command as the driver sends it.
struct ScsiCommand {
    uint8_t target = 0;
    uint16_t lun = 0;
    std::vector<uint8_t> cdb;         // up to cdb_size bytes, zero-padded
    std::vector<std::byte> data_out;  // data-out buffer (WRITE, MODE SELECT, UNMAP list)
    uint32_t data_in_length = 0;      // data-in buffer size (READ, INQUIRY)
    uint64_t tag = 0;                 // the request id (matched by ABORT TASK)
    std::optional<std::array<uint8_t, 8>> raw_lun;  // a LUN field to send as is
};

// What came back.
struct ScsiResult {
    uint8_t response = 0xff;  // VIRTIO_SCSI_S_*
    uint8_t status = 0xff;    // SCSI status
    uint32_t residual = 0;
    uint32_t used_len = 0;  // the used element's length
    std::vector<uint8_t> sense;
    std::vector<std::byte> data_in;  // data_in_length - residual bytes

    // Sense key, ASC and ASCQ of fixed-format sense (0 if absent).
    [[nodiscard]] uint8_t sense_key() const { return sense.size() > 2 ? sense[2] & 0x0f : 0; }
    [[nodiscard]] uint8_t asc() const { return sense.size() > 12 ? sense[12] : 0; }
    [[nodiscard]] uint8_t ascq() const { return sense.size() > 13 ? sense[13] : 0; }
};

class ScsiClient {
  public:
    static constexpr uint64_t kDefaultFeatures =
        virtio::bit(scsi::feature::kInout) | virtio::bit(scsi::feature::kHotplug) |
        virtio::bit(scsi::feature::kChange) | virtio::bit(virtio::feature::kIndirectDesc) |
        virtio::bit(virtio::feature::kEventIdx) | virtio::bit(virtio::feature::kVersion1) |
        virtio::bit(vhost_user::kFeatureProtocolFeatures);

    struct Options {
        std::string socket_path;
        Connection::Options connection;
        uint64_t ram_size = uint64_t{64} << 20;
        uint16_t request_queues = 1;
        uint16_t queue_size = 64;
        uint64_t features = kDefaultFeatures;
        uint32_t data_per_slot = 64 * 1024;  // data buffer of each in-flight command
        uint16_t event_buffers = 8;          // posted on the event queue at start (Linux: 8)
        bool packed = false;                 // ack VIRTIO_F_RING_PACKED when offered
        bool inflight = false;  // keep the back-end's inflight region (for reconnect())
        std::chrono::milliseconds io_timeout{5000};
    };

    // Runs the whole setup: features, memory, every queue started, event buffers posted.
    static Result<std::unique_ptr<ScsiClient>> connect(const Options& options);
    ~ScsiClient();

    [[nodiscard]] const scsi::Config& config() const { return config_; }
    [[nodiscard]] uint64_t offered_features() const { return offered_; }
    [[nodiscard]] bool has_feature(unsigned bit) const {
        return (features_ & virtio::bit(bit)) != 0;
    }
    [[nodiscard]] uint64_t queue_num() const { return queue_num_; }
    [[nodiscard]] GuestRam& ram() { return ram_; }
    [[nodiscard]] Connection& connection() { return connection_; }
    // Queue by virtio index: 0 control, 1 event, 2.. requests.
    [[nodiscard]] DriverQueue& ring(uint16_t index) { return queues_.at(index).ring; }

    // The back-end went away and comes back on the same socket: connects again, negotiates
    // the same features, hands back the inflight region, memory and queues (commands in
    // flight stay in flight: the back-end resubmits them).
    Result<void> reconnect();
    [[nodiscard]] const std::optional<InflightFd>& inflight() const { return inflight_; }

    // --- commands ---
    // Sends and waits.
    Result<ScsiResult> execute(const ScsiCommand& command, uint16_t request_queue = 0);
    // Sends without waiting; returns a handle for wait().
    Result<uint16_t> submit(const ScsiCommand& command, uint16_t request_queue = 0);
    Result<ScsiResult> wait(uint16_t handle, uint16_t request_queue = 0);

    // --- control queue ---
    // A task management function; returns the response byte.
    Result<uint8_t> task_management(uint32_t subtype, uint8_t target, uint16_t lun,
                                    uint64_t tag = 0);
    // AN query (subscribe = false) or subscribe; returns {event_actual, response}.
    Result<scsi::AnResponse> async_notification(bool subscribe, uint8_t target, uint32_t events);

    // --- event queue ---
    // The next event the device wrote (its buffer is reposted); ETIMEDOUT if none comes.
    Result<scsi::Event> next_event(std::chrono::milliseconds timeout);
    [[nodiscard]] bool event_pending() { return queues_.at(scsi::kEventQueue).ring.has_used(); }

    // --- raw chains (hostile tests) ---
    // Sends `segments` on queue `index` and waits for the used element; returns its length.
    Result<uint32_t> exchange_raw(uint16_t index, std::span<const Segment> segments);

  private:
    struct Queue {
        DriverQueue ring;
        GuestBuffer slots;  // kSlotStride bytes per slot: request at 0, response at 512
        GuestBuffer data;   // data_per_slot bytes per slot
        std::vector<uint16_t> free;
        std::vector<std::optional<uint32_t>> done;  // used length, by slot
        std::vector<uint32_t> data_in_length;       // by slot
    };
    static constexpr uint64_t kSlotStride = 1024;
    static constexpr uint64_t kResponseOffset = 512;

    ScsiClient(Options options, Connection connection, GuestRam ram);
    Result<void> negotiate();
    Result<void> set_inflight();
    Result<void> set_memory();
    Result<void> start_queue(uint16_t index, uint32_t base);
    Result<void> post_event_buffer(uint16_t slot);
    Result<uint16_t> send(Queue& q, std::span<const Segment> segments, uint16_t slot);
    Result<uint32_t> wait_slot(Queue& q, uint16_t slot);
    Result<void> harvest(Queue& q);
    [[nodiscard]] uint8_t* slot_host(Queue& q, uint16_t slot, uint64_t offset) const;
    [[nodiscard]] uint64_t slot_gpa(const Queue& q, uint16_t slot, uint64_t offset) const;

    Options options_;
    Connection connection_;
    GuestRam ram_;
    std::vector<Queue> queues_;
    scsi::Config config_{};
    uint64_t offered_ = 0;
    uint64_t features_ = 0;
    uint64_t protocol_ = 0;
    uint64_t queue_num_ = 1;
    std::optional<InflightFd> inflight_;
    std::vector<uint32_t> bases_;  // by queue: the last base set
};

}  // namespace vhostd::frontend

// BlkClient: a vhost-user-blk frontend (what QEMU does for a vhost-user-blk-pci device):
// negotiates features, hands over guest RAM and virtqueues (split or packed), keeps the
// back-end's inflight region across back-end restarts and reconnects to a restarted back-end
// with it, and drives virtio-blk requests through per-queue BlkQueues. connect() runs every
// setup step; open() + the step methods let tests interleave their own messages. Synchronous
// helpers wrap the async path for tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "frontend/blk_config.hpp"
#include "frontend/blk_protocol.hpp"
#include "frontend/blk_queue.hpp"
#include "frontend/connection.hpp"
#include "frontend/dirty_log.hpp"
#include "frontend/guest_ram.hpp"
#include "frontend/inflight_fd.hpp"
#include "spec/vhost_user.hpp"
#include "spec/virtio.hpp"

namespace vhostd::frontend {

class BlkClient {
  public:
    enum class MemoryMode {
        set_mem_table,  // one VHOST_USER_SET_MEM_TABLE
        add_mem_reg,    // one VHOST_USER_ADD_MEM_REG per region (needs CONFIGURE_MEM_SLOTS)
    };

    // Virtio features the driver side understands and acks when offered.
    static constexpr uint64_t kDefaultFeatures =
        virtio::bit(blk::feature::kSizeMax) | virtio::bit(blk::feature::kSegMax) |
        virtio::bit(blk::feature::kGeometry) | virtio::bit(blk::feature::kRo) |
        virtio::bit(blk::feature::kBlkSize) | virtio::bit(blk::feature::kFlush) |
        virtio::bit(blk::feature::kTopology) | virtio::bit(blk::feature::kConfigWce) |
        virtio::bit(blk::feature::kMq) | virtio::bit(blk::feature::kDiscard) |
        virtio::bit(blk::feature::kWriteZeroes) | virtio::bit(virtio::feature::kIndirectDesc) |
        virtio::bit(virtio::feature::kEventIdx) | virtio::bit(virtio::feature::kVersion1) |
        virtio::bit(vhost_user::kFeatureProtocolFeatures);

    static constexpr uint64_t kDefaultProtocolFeatures =
        virtio::bit(vhost_user::protocol_feature::kMq) |
        virtio::bit(vhost_user::protocol_feature::kReplyAck) |
        virtio::bit(vhost_user::protocol_feature::kConfig) |
        virtio::bit(vhost_user::protocol_feature::kConfigureMemSlots) |
        virtio::bit(vhost_user::protocol_feature::kResetDevice) |
        virtio::bit(vhost_user::protocol_feature::kStatus);

    struct Options {
        std::string socket_path;
        Connection::Options connection;
        // Guest RAM layout; when it names no regions, one region of ram_size at GPA 0.
        GuestRam::Options ram;
        uint64_t ram_size = uint64_t{64} << 20;
        uint16_t num_queues = 1;
        uint16_t queue_size = 128;
        uint16_t max_data_segments = 32;
        // Acked = offered & these. Dropping bit 30 skips protocol features altogether.
        uint64_t features = kDefaultFeatures;
        uint64_t protocol_features = kDefaultProtocolFeatures;
        // Send requests as indirect tables when VIRTIO_RING_F_INDIRECT_DESC is negotiated.
        bool indirect = false;
        // Ack VIRTIO_F_RING_PACKED when offered: every queue is then a packed ring.
        bool packed = false;
        // Negotiate INFLIGHT_SHMFD and keep the back-end's inflight region (GET_INFLIGHT_FD
        // once, SET_INFLIGHT_FD on every connection), so reconnect() loses no request.
        bool inflight = false;
        MemoryMode memory_mode = MemoryMode::set_mem_table;
        // Guest RAM for the synchronous helpers' data (largest read()/write()).
        uint64_t bounce_size = uint64_t{1} << 20;
        // How long a synchronous helper waits for its completion.
        std::chrono::milliseconds io_timeout{5000};
    };

    // Connects and runs negotiate(), set_memory() and start_queues().
    static Result<std::unique_ptr<BlkClient>> connect(const Options& options);
    // Connects the socket and creates guest RAM; sends nothing.
    static Result<std::unique_ptr<BlkClient>> open(const Options& options);

    // --- setup steps, in this order ---
    // GET_FEATURES, GET/SET_PROTOCOL_FEATURES, SET_OWNER, GET_QUEUE_NUM, GET_MAX_MEM_SLOTS,
    // GET_CONFIG, SET_FEATURES (and SET_STATUS FEATURES_OK when STATUS is negotiated).
    Result<void> negotiate();
    // With `inflight` negotiated: GET_INFLIGHT_FD the first time, then SET_INFLIGHT_FD.
    Result<void> set_inflight();
    // SET_MEM_TABLE, or ADD_MEM_REG per region, for every region of ram().
    Result<void> set_memory();
    // Creates the queues (first call) and, per queue: SET_VRING_NUM/BASE/ADDR/CALL/KICK and
    // SET_VRING_ENABLE; then SET_STATUS DRIVER_OK when STATUS is negotiated.
    Result<void> start_queues();
    Result<void> start_queue(uint16_t index);
    // GET_VRING_BASE: stops the ring; returns the back-end's base (split: next avail index;
    // packed: both positions), which the next start_queue() sends back.
    Result<uint32_t> stop_queue(uint16_t index);
    Result<void> stop_queues();
    // VHOST_USER_RESET_DEVICE (needs the RESET_DEVICE protocol feature).
    Result<void> reset_device();
    // GET_CONFIG of the virtio-blk configuration space.
    Result<BlkConfig> read_config();
    // GET_STATUS (needs the STATUS protocol feature).
    Result<uint8_t> get_status();
    // Waits for the back-end's next request on the backend channel (set up by negotiate()
    // when BACKEND_REQ is negotiated), e.g. CONFIG_CHANGE_MSG; ETIMEDOUT after the
    // connection timeout.
    Result<vhost_user::BackendRequest> wait_backend_request();
    // Live migration, as QEMU's vhost_migration_log does it (needs PROTOCOL_F_LOG_SHMFD in
    // `protocol_features` and VHOST_F_LOG_ALL offered): SET_LOG_BASE with `log` (kept by the
    // caller while logging), SET_FEATURES with LOG_ALL, then SET_VRING_ADDR with
    // VHOST_VRING_F_LOG on every started queue. The back-end marks every page it writes from
    // the replies on (REPLY_ACK makes each step synchronous).
    Result<void> start_logging(const DirtyLog& log);
    // SET_FEATURES without LOG_ALL, then SET_VRING_ADDR without F_LOG on every started queue.
    Result<void> stop_logging();
    // Closes the socket; queues and RAM stay for inspection.
    void disconnect() { connection_.close(); }
    // The back-end went away (its socket closed) and comes back on the same path: connects
    // again (retrying for up to the connect timeout), negotiates the same features, hands back
    // the inflight region, the memory and every queue at the base QEMU would send (requests
    // in flight stay in flight: the back-end resubmits them). Safe while other threads drive
    // the queues' requests: it reads ring state, never writes it.
    Result<void> reconnect();
    // The back-end closed the connection (or it is closed).
    [[nodiscard]] bool peer_closed() const;

    // --- negotiated state ---
    [[nodiscard]] uint64_t offered_features() const { return offered_features_; }
    [[nodiscard]] uint64_t features() const { return features_; }
    [[nodiscard]] bool has_feature(unsigned bit) const {
        return (features_ & virtio::bit(bit)) != 0;
    }
    [[nodiscard]] uint64_t offered_protocol_features() const { return offered_protocol_; }
    [[nodiscard]] uint64_t protocol_features() const { return protocol_; }
    [[nodiscard]] bool has_protocol_feature(unsigned bit) const {
        return (protocol_ & virtio::bit(bit)) != 0;
    }
    [[nodiscard]] uint64_t queue_num() const { return queue_num_; }  // GET_QUEUE_NUM (1 without MQ)
    [[nodiscard]] uint64_t max_mem_slots() const { return max_mem_slots_; }  // 0 if not asked
    [[nodiscard]] const BlkConfig& config() const { return config_; }
    [[nodiscard]] bool uses_indirect() const { return indirect_; }
    [[nodiscard]] bool packed() const { return has_feature(virtio::feature::kRingPacked); }
    [[nodiscard]] const std::optional<InflightFd>& inflight() const { return inflight_; }
    [[nodiscard]] const Options& options() const { return options_; }

    [[nodiscard]] Connection& connection() { return connection_; }
    [[nodiscard]] GuestRam& ram() { return ram_; }
    [[nodiscard]] size_t num_queues() const { return queues_.size(); }  // 0 before start_queues()
    [[nodiscard]] BlkQueue& queue(size_t index) { return queues_.at(index); }

    // --- synchronous helpers (tests): one request on an otherwise idle queue, waited for.
    // The value is the virtio status byte; errors are transport failures and timeouts.
    Result<uint8_t> read(uint64_t sector, std::span<std::byte> out, uint16_t queue = 0);
    Result<uint8_t> write(uint64_t sector, std::span<const std::byte> data, uint16_t queue = 0);
    Result<uint8_t> flush(uint16_t queue = 0);
    Result<uint8_t> discard(uint64_t sector, uint32_t num_sectors, uint16_t queue = 0);
    Result<uint8_t> write_zeroes(uint64_t sector, uint32_t num_sectors, bool unmap,
                                 uint16_t queue = 0);
    // `id` receives the serial up to its first NUL (at most 20 bytes).
    Result<uint8_t> get_id(std::string& id, uint16_t queue = 0);
    // Any request type over caller-provided guest RAM segments.
    Result<BlkCompletion> execute(uint16_t queue, uint32_t type, uint64_t sector,
                                  std::span<const DataSegment> data);

  private:
    BlkClient(Options options, Connection connection, GuestRam ram, GuestBuffer bounce)
        : options_(std::move(options)),
          connection_(std::move(connection)),
          ram_(std::move(ram)),
          bounce_(bounce) {}

    Result<void> set_status(uint8_t status);
    Result<BlkQueue*> idle_queue(uint16_t index);
    Result<BlkCompletion> complete(BlkQueue& queue, uint64_t tag);
    // SET_BACKEND_REQ_FD with one end of a new socketpair; we keep the other.
    Result<void> open_backend_channel();

    Options options_;
    Connection connection_;
    std::optional<Connection> backend_channel_;  // our end, when BACKEND_REQ is negotiated
    GuestRam ram_;
    GuestBuffer bounce_;
    std::vector<BlkQueue> queues_;
    std::vector<uint32_t> bases_;  // by queue: the last base set or got (GET_VRING_BASE)
    std::optional<InflightFd> inflight_;
    uint64_t offered_features_ = 0;
    uint64_t features_ = 0;
    uint64_t offered_protocol_ = 0;
    uint64_t protocol_ = 0;
    uint64_t queue_num_ = 1;
    uint64_t max_mem_slots_ = 0;
    BlkConfig config_;
    bool indirect_ = false;
    uint8_t status_ = 0;  // device status we last set
    uint64_t next_tag_ = 0;
};

}  // namespace vhostd::frontend

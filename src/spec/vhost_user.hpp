// The vhost-user wire protocol (QEMU docs/interop/vhost-user.rst): request codes, header
// flags, protocol feature bits and payload layouts. Shared by the server (vhostd) and the
// frontend library. Native byte order, packed as QEMU sends them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vhostd::vhost_user {

// Front-end -> back-end requests.
enum class Request : uint32_t {
    none = 0,
    get_features = 1,
    set_features = 2,
    set_owner = 3,
    reset_owner = 4,
    set_mem_table = 5,
    set_log_base = 6,
    set_log_fd = 7,
    set_vring_num = 8,
    set_vring_addr = 9,
    set_vring_base = 10,
    get_vring_base = 11,
    set_vring_kick = 12,
    set_vring_call = 13,
    set_vring_err = 14,
    get_protocol_features = 15,
    set_protocol_features = 16,
    get_queue_num = 17,
    set_vring_enable = 18,
    send_rarp = 19,
    net_set_mtu = 20,
    set_backend_req_fd = 21,
    iotlb_msg = 22,
    set_vring_endian = 23,
    get_config = 24,
    set_config = 25,
    create_crypto_session = 26,
    close_crypto_session = 27,
    postcopy_advise = 28,
    postcopy_listen = 29,
    postcopy_end = 30,
    get_inflight_fd = 31,
    set_inflight_fd = 32,
    gpu_set_socket = 33,
    reset_device = 34,
    vring_kick = 35,
    get_max_mem_slots = 36,
    add_mem_reg = 37,
    rem_mem_reg = 38,
    set_status = 39,
    get_status = 40,
};
const char* to_string(Request request);

// Back-end -> front-end requests (on the backend channel).
enum class BackendRequest : uint32_t {
    none = 0,
    iotlb_msg = 1,
    config_change_msg = 2,
    vring_host_notifier_msg = 3,
};

// Header flags.
constexpr uint32_t kVersionMask = 0x3;
constexpr uint32_t kVersion = 0x1;
constexpr uint32_t kFlagReply = 1U << 2;
constexpr uint32_t kFlagNeedReply = 1U << 3;

// Virtio feature bit 30, reused by vhost-user to gate protocol features.
constexpr unsigned kFeatureProtocolFeatures = 30;
// VHOST_F_LOG_ALL (bit 26): dirty logging for live migration.
constexpr unsigned kFeatureLogAll = 26;

namespace protocol_feature {
constexpr unsigned kMq = 0;
constexpr unsigned kLogShmfd = 1;
constexpr unsigned kRarp = 2;
constexpr unsigned kReplyAck = 3;
constexpr unsigned kMtu = 4;
constexpr unsigned kBackendReq = 5;
constexpr unsigned kCrossEndian = 6;
constexpr unsigned kCryptoSession = 7;
constexpr unsigned kPagefault = 8;
constexpr unsigned kConfig = 9;
constexpr unsigned kBackendSendFd = 10;
constexpr unsigned kHostNotifier = 11;
constexpr unsigned kInflightShmfd = 12;
constexpr unsigned kResetDevice = 13;
constexpr unsigned kInbandNotifications = 14;
constexpr unsigned kConfigureMemSlots = 15;
constexpr unsigned kStatus = 16;
}  // namespace protocol_feature

// Payload of VHOST_USER_SET_VRING_KICK/CALL/ERR: the ring index in bits 0-7; bit 8 set means
// no fd accompanies the message (the ring is polled / not signalled).
constexpr uint64_t kVringIndexMask = 0xff;
constexpr uint64_t kVringNoFd = 1U << 8;

// SET_VRING_ADDR flags bit 0 (VHOST_VRING_F_LOG): log the ring's used-ring writes at its
// log_guest_addr ("Migration").
constexpr uint32_t kVringFlagLog = 1U << 0;
// "Migration": one log bit per 4 KiB page of guest-physical memory (VHOST_LOG_PAGE).
constexpr uint64_t kLogPageSize = 0x1000;

// Limits.
constexpr size_t kMaxFdsPerMessage = 8;    // QEMU's VHOST_MEMORY_BASELINE_NREGIONS
constexpr size_t kMaxMemTableRegions = 8;  // regions in one SET_MEM_TABLE
constexpr size_t kMaxConfigSize = 256;     // VHOST_USER_MAX_CONFIG_SIZE
constexpr uint32_t kMaxQueues = 256;       // ring index is 8 bits

#pragma pack(push, 1)

struct MessageHeader {
    uint32_t request;
    uint32_t flags;
    uint32_t size;  // payload bytes following the header
};
static_assert(sizeof(MessageHeader) == 12);

struct VringState {
    uint32_t index;
    uint32_t num;
};

struct VringAddr {
    uint32_t index;
    uint32_t flags;  // bit 0: VHOST_VRING_F_LOG
    uint64_t desc_user_addr;
    uint64_t used_user_addr;
    uint64_t avail_user_addr;
    uint64_t log_guest_addr;
};
static_assert(sizeof(VringAddr) == 40);

struct MemoryRegion {
    uint64_t guest_phys_addr;
    uint64_t memory_size;
    uint64_t userspace_addr;
    uint64_t mmap_offset;
};
static_assert(sizeof(MemoryRegion) == 32);

// SET_MEM_TABLE: only `num_regions` entries are sent (size = 8 + 32 * num_regions).
struct MemoryTable {
    uint32_t num_regions;
    uint32_t padding;
    MemoryRegion regions[kMaxMemTableRegions];
};

// ADD_MEM_REG / REM_MEM_REG.
struct SingleMemoryRegion {
    uint64_t padding;
    MemoryRegion region;
};
static_assert(sizeof(SingleMemoryRegion) == 40);

// GET_CONFIG / SET_CONFIG: a 12-byte header, then `size` bytes of configuration space.
struct ConfigHeader {
    uint32_t offset;
    uint32_t size;
    uint32_t flags;
};
static_assert(sizeof(ConfigHeader) == 12);

// GET_INFLIGHT_FD / SET_INFLIGHT_FD. vhost-user.rst lists 20 bytes of fields; QEMU and DPDK
// send (and QEMU expects in the reply) their C struct, padded to 24.
struct Inflight {
    uint64_t mmap_size;
    uint64_t mmap_offset;
    uint16_t num_queues;
    uint16_t queue_size;
    uint32_t padding;
};
static_assert(sizeof(Inflight) == 24);
constexpr size_t kInflightUnpaddedSize = 20;

// SET_LOG_BASE with PROTOCOL_F_LOG_SHMFD ("Log description"): the log is `mmap_size` bytes at
// `mmap_offset` of the message's one fd; its first bit is guest-physical page 0.
struct LogDescription {
    uint64_t mmap_size;
    uint64_t mmap_offset;
};
static_assert(sizeof(LogDescription) == 16);

#pragma pack(pop)

// The largest payload any request we accept can carry (SET_MEM_TABLE with 8 regions, or
// GET/SET_CONFIG with a full config space).
constexpr size_t kMaxPayloadSize = sizeof(ConfigHeader) + kMaxConfigSize;
static_assert(kMaxPayloadSize >= sizeof(MemoryTable));

}  // namespace vhostd::vhost_user

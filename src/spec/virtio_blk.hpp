// virtio-blk wire definitions (VIRTIO 1.2, 5.2): feature bits, request types, status codes,
// and the layouts of the request header, discard/write-zeroes segments and config space.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vhostd::virtio_blk {

namespace feature {
constexpr unsigned kSizeMax = 1;
constexpr unsigned kSegMax = 2;
constexpr unsigned kGeometry = 4;
constexpr unsigned kRo = 5;
constexpr unsigned kBlkSize = 6;
constexpr unsigned kFlush = 9;
constexpr unsigned kTopology = 10;
constexpr unsigned kConfigWce = 11;
constexpr unsigned kMq = 12;
constexpr unsigned kDiscard = 13;
constexpr unsigned kWriteZeroes = 14;
}  // namespace feature

namespace request_type {
constexpr uint32_t kIn = 0;
constexpr uint32_t kOut = 1;
constexpr uint32_t kFlush = 4;
constexpr uint32_t kGetId = 8;
constexpr uint32_t kGetLifetime = 10;
constexpr uint32_t kDiscard = 11;
constexpr uint32_t kWriteZeroes = 13;
constexpr uint32_t kSecureErase = 14;
}  // namespace request_type

namespace status {
constexpr uint8_t kOk = 0;
constexpr uint8_t kIoErr = 1;
constexpr uint8_t kUnsupp = 2;
}  // namespace status

constexpr uint32_t kSectorSize = 512;
constexpr size_t kIdBytes = 20;  // VIRTIO_BLK_ID_BYTES
constexpr uint32_t kSegmentFlagUnmap = 1;

#pragma pack(push, 1)

struct RequestHeader {
    uint32_t type;
    uint32_t reserved;  // formerly ioprio
    uint64_t sector;
};
static_assert(sizeof(RequestHeader) == 16);

struct DiscardWriteZeroesSegment {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;  // bit 0: unmap; the rest reserved
};
static_assert(sizeof(DiscardWriteZeroesSegment) == 16);

struct Config {
    uint64_t capacity;  // in 512-byte sectors
    uint32_t size_max;
    uint32_t seg_max;
    struct {
        uint16_t cylinders;
        uint8_t heads;
        uint8_t sectors;
    } geometry;
    uint32_t blk_size;
    struct {
        uint8_t physical_block_exp;
        uint8_t alignment_offset;
        uint16_t min_io_size;
        uint32_t opt_io_size;
    } topology;
    uint8_t writeback;
    uint8_t unused0;
    uint16_t num_queues;
    uint32_t max_discard_sectors;
    uint32_t max_discard_seg;
    uint32_t discard_sector_alignment;
    uint32_t max_write_zeroes_sectors;
    uint32_t max_write_zeroes_seg;
    uint8_t write_zeroes_may_unmap;
    uint8_t unused1[3];
};
static_assert(sizeof(Config) == 60);
static_assert(offsetof(Config, writeback) == 32);
static_assert(offsetof(Config, num_queues) == 34);
static_assert(offsetof(Config, write_zeroes_may_unmap) == 56);

#pragma pack(pop)

}  // namespace vhostd::virtio_blk

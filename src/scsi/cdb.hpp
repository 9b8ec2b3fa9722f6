// CDB field access (SPC-4 4.2: multi-byte fields are big-endian) and the operation codes the
// core implements. The CDB is already in host memory (Task::cdb), so fields are read directly.
#pragma once

#include <array>
#include <cstdint>

namespace vhostd::scsi {

// SPC-4 / SBC-3 operation codes.
namespace op {
inline constexpr uint8_t test_unit_ready = 0x00;
inline constexpr uint8_t request_sense = 0x03;
inline constexpr uint8_t read_6 = 0x08;
inline constexpr uint8_t write_6 = 0x0a;
inline constexpr uint8_t inquiry = 0x12;
inline constexpr uint8_t mode_select_6 = 0x15;
inline constexpr uint8_t mode_sense_6 = 0x1a;
inline constexpr uint8_t start_stop_unit = 0x1b;
inline constexpr uint8_t read_capacity_10 = 0x25;
inline constexpr uint8_t read_10 = 0x28;
inline constexpr uint8_t write_10 = 0x2a;
inline constexpr uint8_t verify_10 = 0x2f;
inline constexpr uint8_t synchronize_cache_10 = 0x35;
inline constexpr uint8_t write_same_10 = 0x41;
inline constexpr uint8_t unmap = 0x42;
inline constexpr uint8_t mode_select_10 = 0x55;
inline constexpr uint8_t mode_sense_10 = 0x5a;
inline constexpr uint8_t persistent_reserve_in = 0x5e;
inline constexpr uint8_t persistent_reserve_out = 0x5f;
inline constexpr uint8_t read_16 = 0x88;
inline constexpr uint8_t write_16 = 0x8a;
inline constexpr uint8_t verify_16 = 0x8f;
inline constexpr uint8_t synchronize_cache_16 = 0x91;
inline constexpr uint8_t write_same_16 = 0x93;
inline constexpr uint8_t service_action_in_16 = 0x9e;  // SA 10h: READ CAPACITY (16)
inline constexpr uint8_t report_luns = 0xa0;
inline constexpr uint8_t maintenance_in = 0xa3;  // SA 0Ch: REPORT SUPPORTED OPERATION CODES
inline constexpr uint8_t read_12 = 0xa8;
inline constexpr uint8_t write_12 = 0xaa;
}  // namespace op

inline constexpr uint16_t kSaReadCapacity16 = 0x10;
inline constexpr uint16_t kSaReportSupportedOpcodes = 0x0c;

inline uint16_t get_be16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t get_be24(const uint8_t* p) {
    return uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8 | p[2];
}
inline uint32_t get_be32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint64_t get_be64(const uint8_t* p) {
    return uint64_t{get_be32(p)} << 32 | get_be32(p + 4);
}
inline void put_be16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
inline void put_be32(uint8_t* p, uint32_t v) {
    put_be16(p, static_cast<uint16_t>(v >> 16));
    put_be16(p + 2, static_cast<uint16_t>(v));
}
inline void put_be64(uint8_t* p, uint64_t v) {
    put_be32(p, static_cast<uint32_t>(v >> 32));
    put_be32(p + 4, static_cast<uint32_t>(v));
}

// The LBA and block count of the 10- and 16-byte CDBs that share SBC-3's layout (SYNCHRONIZE
// CACHE, VERIFY, WRITE SAME): 10 bytes: LBA in 2-5, count in 7-8; 16 bytes: 2-9 and 10-13.
struct LbaRange {
    uint64_t lba;
    uint64_t blocks;
};
inline LbaRange lba_range(const uint8_t* cdb, bool ten) {
    if (ten) {
        return {get_be32(cdb + 2), get_be16(cdb + 7)};
    }
    return {get_be64(cdb + 2), get_be32(cdb + 10)};
}

// True if [lba, lba + blocks) lies inside a device of `capacity` blocks, without overflow
// (SBC-3 4.5: otherwise LOGICAL BLOCK ADDRESS OUT OF RANGE).
inline bool range_ok(uint64_t lba, uint64_t blocks, uint64_t capacity) {
    return lba <= capacity && blocks <= capacity - lba;
}

}  // namespace vhostd::scsi

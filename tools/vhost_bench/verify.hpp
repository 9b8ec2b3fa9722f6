// Verify mode: every 512-byte sector of a written block carries its LBA, the run's
// generation, the write's version and a checksum over all of it. A read checks each sector
// against what the last completed write to that block must have left:
//   wrong LBA -> misplaced (the target read or wrote another block),
//   wrong generation or an older version -> stale (a write was lost or reordered),
//   checksum mismatch -> torn or corrupt data.
// Two I/Os to one block are never in flight at once (the caller keeps a busy map), so the
// expected version is always defined.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace vhostd::bench {

constexpr uint32_t kSector = 512;

enum class VerifyError : uint8_t { none, misplaced, stale, torn };
const char* to_string(VerifyError e);

// Fills `buffer` (a whole number of sectors starting at `lba`) with stamped sectors.
void stamp_block(std::span<std::byte> buffer, uint64_t lba, uint32_t generation,
                 uint32_t version) noexcept;
// Checks every sector; on failure `bad_lba` is the first sector that failed.
VerifyError check_block(std::span<const std::byte> buffer, uint64_t lba, uint32_t generation,
                        uint32_t version, uint64_t& bad_lba) noexcept;

// Per-queue verify state over the queue's slice: the expected version of every unit and
// whether an I/O to it is in flight.
class VerifyMap {
  public:
    static constexpr uint32_t kUnwritten = 0;         // not written in this run: not checked
    static constexpr uint32_t kUnknown = UINT32_MAX;  // a write failed: contents undefined

    VerifyMap() = default;
    VerifyMap(uint64_t first_unit, uint64_t units)
        : first_(first_unit), versions_(units, kUnwritten), busy_(units, 0) {}

    [[nodiscard]] bool busy(uint64_t unit) const { return busy_[unit - first_] != 0; }
    void set_busy(uint64_t unit, bool busy) { busy_[unit - first_] = busy ? 1 : 0; }
    [[nodiscard]] uint32_t version(uint64_t unit) const { return versions_[unit - first_]; }
    // Version a new write of `unit` carries (wraps past kUnknown).
    [[nodiscard]] uint32_t next_version(uint64_t unit) const {
        const uint32_t v = versions_[unit - first_] + 1;
        return v == kUnknown ? 1 : v;
    }
    void set_version(uint64_t unit, uint32_t v) { versions_[unit - first_] = v; }
    [[nodiscard]] uint64_t first_unit() const { return first_; }
    [[nodiscard]] uint64_t units() const { return versions_.size(); }

  private:
    uint64_t first_ = 0;
    std::vector<uint32_t> versions_;
    std::vector<uint8_t> busy_;
};

}  // namespace vhostd::bench

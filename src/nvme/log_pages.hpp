// Log pages (5.14.1): the error information log (a ring of the latest entries), the SMART /
// Health log from the controller's counters, the firmware slot log, and the changed
// namespace list. Control reactor only.
#pragma once

#include <array>
#include <cstdint>
#include <set>
#include <span>

#include "nvme/status.hpp"
#include "spec/nvme.hpp"

namespace vhostd::nvme {

class ErrorLog {
  public:
    static constexpr size_t kEntries = 64;  // ELPE + 1

    // Records an error; `sqid`/`cid` FFFFh when no command is involved (a doorbell write).
    void add(uint16_t sqid, uint16_t cid, Status status, uint32_t nsid, uint64_t info);
    [[nodiscard]] uint64_t count() const { return count_; }
    // The page: newest entry first, unused entries zero.
    void page(std::span<uint8_t> out) const;

  private:
    std::array<nvme_spec::ErrorLogEntry, kEntries> entries_{};
    uint64_t count_ = 0;
};

struct HealthInputs {
    uint64_t bytes_read = 0;
    uint64_t bytes_written = 0;
    uint64_t read_commands = 0;
    uint64_t write_commands = 0;
    uint64_t media_errors = 0;
    uint64_t error_entries = 0;
    uint64_t power_cycles = 0;
    uint64_t power_on_hours = 0;
    uint16_t temperature = 0;       // kelvin
    uint16_t temperature_over = 0;  // the threshold feature
    uint16_t temperature_under = 0;
};

void health_log(const HealthInputs& inputs, std::span<uint8_t> out);
void firmware_slot_log(std::span<uint8_t> out);

// NSIDs whose attributes changed since the host last read the list without RAE.
class ChangedNamespaces {
  public:
    void add(uint32_t nsid);
    void clear() {
        nsids_.clear();
        overflow_ = false;
    }
    [[nodiscard]] bool empty() const { return nsids_.empty() && !overflow_; }
    // 5.14.1.4: ascending; more than 1024 changes: FFFFFFFFh and zeroes.
    void page(std::span<uint8_t> out) const;

  private:
    std::set<uint32_t> nsids_;
    bool overflow_ = false;
};

}  // namespace vhostd::nvme

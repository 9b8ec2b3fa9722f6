// Log pages: layouts filled from the controller's state.
#include "nvme/log_pages.hpp"

#include <algorithm>
#include <cstring>

#include "nvme/identify.hpp"

namespace vhostd::nvme {

using namespace nvme_spec;

void ErrorLog::add(uint16_t sqid, uint16_t cid, Status status, uint32_t nsid, uint64_t info) {
    ++count_;
    ErrorLogEntry& entry = entries_[count_ % kEntries];
    entry = ErrorLogEntry{};
    entry.error_count = count_;
    entry.sqid = sqid;
    entry.cid = cid;
    entry.status = static_cast<uint16_t>(status << 1);
    entry.parameter_location = 0xffff;
    entry.nsid = nsid;
    entry.command_info = info;
}

void ErrorLog::page(std::span<uint8_t> out) const {
    std::fill(out.begin(), out.end(), 0);
    const uint64_t stored = std::min<uint64_t>(count_, kEntries);
    for (uint64_t i = 0; i < stored && (i + 1) * sizeof(ErrorLogEntry) <= out.size(); ++i) {
        const ErrorLogEntry& entry = entries_[(count_ - i) % kEntries];
        std::memcpy(out.data() + i * sizeof(entry), &entry, sizeof(entry));
    }
}

void health_log(const HealthInputs& in, std::span<uint8_t> out) {
    HealthLog log{};
    // 5.14.1.2: bit 1 when the temperature is past a threshold.
    if (in.temperature >= in.temperature_over ||
        (in.temperature_under != 0 && in.temperature <= in.temperature_under)) {
        log.critical_warning |= 1u << 1;
    }
    log.composite_temperature = in.temperature;
    log.available_spare = 100;
    log.available_spare_threshold = 10;
    // Data units: thousands of 512-byte units, rounded up.
    const auto units = [](uint64_t bytes) { return (bytes + 512'000 - 1) / 512'000; };
    log.data_units_read[0] = units(in.bytes_read);
    log.data_units_written[0] = units(in.bytes_written);
    log.host_read_commands[0] = in.read_commands;
    log.host_write_commands[0] = in.write_commands;
    log.power_cycles[0] = in.power_cycles;
    log.power_on_hours[0] = in.power_on_hours;
    log.media_errors[0] = in.media_errors;
    log.error_log_entries[0] = in.error_entries;
    log.temperature_sensors[0] = in.temperature;
    std::fill(out.begin(), out.end(), 0);
    std::memcpy(out.data(), &log, std::min(out.size(), sizeof(log)));
}

void firmware_slot_log(std::span<uint8_t> out) {
    FirmwareSlotLog log{};
    log.active_slot = 1;  // slot 1 is active, no firmware waits for the next reset
    std::memcpy(log.revisions[0].data(), kFirmwareRevision, log.revisions[0].size());
    std::fill(out.begin(), out.end(), 0);
    std::memcpy(out.data(), &log, std::min(out.size(), sizeof(log)));
}

void ChangedNamespaces::add(uint32_t nsid) {
    if (overflow_) {
        return;
    }
    nsids_.insert(nsid);
    if (nsids_.size() > kMaxNsidList) {
        nsids_.clear();
        overflow_ = true;
    }
}

void ChangedNamespaces::page(std::span<uint8_t> out) const {
    std::fill(out.begin(), out.end(), 0);
    if (overflow_) {
        const uint32_t all = kNsidBroadcast;
        std::memcpy(out.data(), &all, std::min(out.size(), sizeof(all)));
        return;
    }
    size_t at = 0;
    for (uint32_t nsid : nsids_) {
        if (at + sizeof(nsid) > out.size()) {
            break;
        }
        std::memcpy(out.data() + at, &nsid, sizeof(nsid));
        at += sizeof(nsid);
    }
}

}  // namespace vhostd::nvme

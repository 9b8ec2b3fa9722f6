// Vital product data pages (SPC-4 7.8, SBC-3 6.5): supported pages, unit serial number, device
// identification, block limits, block device characteristics, logical block provisioning.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "scsi/logical_unit.hpp"

namespace vhostd::scsi {

inline constexpr std::string_view kVendorId = "VHOSTD";  // T10 vendor identification
inline constexpr std::string_view kProductRevision = "0001";
inline constexpr size_t kMaxVpdPage = 128;

// Writes VPD page `page` of `unit` into `out`; returns its length, or 0 if there is no such page.
size_t build_vpd_page(const LogicalUnit& unit, uint8_t page, std::span<uint8_t, kMaxVpdPage> out);

}  // namespace vhostd::scsi

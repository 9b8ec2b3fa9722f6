// The mode pages the device has (SPC-4 7.5, SBC-3 6.4): read-write error recovery (01h),
// caching (08h) and control (0Ah). The one changeable parameter is WCE, on a bdev with a
// volatile write cache; nothing is savable.
#pragma once

#include <cstddef>
#include <cstdint>

#include "scsi/logical_unit.hpp"

namespace vhostd::scsi {

// SPC-4 6.11: PAGE CONTROL.
enum class PageControl : uint8_t { current = 0, changeable = 1, defaults = 2, saved = 3 };

inline constexpr uint8_t kAllPages = 0x3f;
inline constexpr uint8_t kModePages[] = {0x01, 0x08, 0x0a};  // ascending, as 3Fh returns them
inline constexpr size_t kMaxModePage = 20;

// Writes page `page` as `pc` asks into out[0..kMaxModePage); returns its length or 0 if the
// device has no such page.
size_t build_mode_page(const LogicalUnit& unit, uint8_t page, PageControl pc, uint8_t* out);

}  // namespace vhostd::scsi

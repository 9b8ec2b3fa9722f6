// Bdev UUIDs: random version 4 UUIDs (RFC 4122 section 4.4) and validation of given ones, in
// the canonical 8-4-4-4-12 lowercase text form SPDK prints.
#pragma once

#include <string>
#include <string_view>

#include "base/error.hpp"

namespace vhostd::block {

// A fresh random version 4 UUID, e.g. "1b4e28ba-2fa1-41d2-883f-0016d3cca427".
[[nodiscard]] std::string generate_uuid();

// Checks the 8-4-4-4-12 hex form (either case) and returns it in lowercase.
[[nodiscard]] Result<std::string> normalize_uuid(std::string_view text);

}  // namespace vhostd::block

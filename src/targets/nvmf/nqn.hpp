// NVMe Qualified Names (NVMe Base Specification 2.0, 4.5): the checks a subsystem NQN passes
// before a subsystem is created with it, the same rules SPDK's target enforces.
#pragma once

#include <string_view>

#include "base/error.hpp"

namespace vhostd::targets::nvmf {

// The well-known NQN of the discovery subsystem (4.5).
inline constexpr std::string_view kDiscoveryNqn = "nqn.2014-08.org.nvmexpress.discovery";

// EINVAL unless `nqn` is "nqn.2014-08.org.nvmexpress:uuid:<UUID>" or
// "nqn.yyyy-mm.<reverse domain>:<user string>" (or the discovery NQN), at most 223 bytes of
// UTF-8.
[[nodiscard]] Result<void> check_nqn(std::string_view nqn);

}  // namespace vhostd::targets::nvmf

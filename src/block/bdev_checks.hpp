// Parameter checks shared by the backends' factories and the registry: bdev names, block
// sizes and the size a geometry adds up to. Messages name the bdev and the rule.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace vhostd::block {

inline constexpr size_t kMaxBdevNameLength = 255;  // SPDK_BDEV_MAX_NAME_LENGTH less the NUL
inline constexpr uint32_t kMinBlockSize = 512;
inline constexpr uint32_t kMaxBlockSize = 65536;

// Non-empty, at most kMaxBdevNameLength bytes, letters, digits and "_-.:" only: the names
// SPDK's RPCs and configs use ("Malloc0", "Nvme0n1", "lvs0.lvol1"), nothing that needs
// quoting in logs, JSON or shell.
[[nodiscard]] Result<void> check_bdev_name(std::string_view name);

// A power of two in [kMinBlockSize, kMaxBlockSize]: what virtio-blk's blk_size and guests
// accept (Linux wants a power of two from 512 up).
[[nodiscard]] Result<void> check_block_size(std::string_view name, uint32_t block_size);

// num_blocks > 0 and num_blocks * block_size representable; returns the size in bytes.
[[nodiscard]] Result<uint64_t> checked_size_bytes(std::string_view name, uint32_t block_size,
                                                  uint64_t num_blocks);

// An optional UUID parameter: empty stays empty (the Bdev generates one), anything else must
// be a valid UUID and comes back normalized (normalize_uuid).
[[nodiscard]] Result<std::string> check_uuid(std::string_view name, std::string_view uuid);

}  // namespace vhostd::block

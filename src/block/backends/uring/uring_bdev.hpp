// Uring bdev: a regular file or a block device served through io_uring (SPDK's
// bdev_uring_create). O_DIRECT when the file system allows it, one ring per reactor.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "block/backends/uring/uring_file.hpp"
#include "block/bdev.hpp"

namespace vhostd::block {

struct ModuleContext;  // block/bdev_rpc.hpp

// Registers the module's RPC methods (uring_rpc.cpp); called once from app.
void register_uring_module(ModuleContext& context);

// Parameters of bdev_uring_create, named as in SPDK's RPC.
struct UringParams {
    std::string name;
    std::string filename;
    uint32_t block_size = 0;  // 0: the device's logical block size, or 512 for a file
    std::string uuid;         // empty: generate one
};

[[nodiscard]] Result<std::shared_ptr<Bdev>> bdev_uring_create(const UringParams& params);

// SPDK's bdev_uring_rescan: reads the size of the file or device again and resizes `bdev` to
// the whole blocks it holds. Shrinking is refused unless `may_shrink` (SPDK refuses it while
// the bdev is open: a guest would lose blocks under its feet). Returns the new block count.
[[nodiscard]] Result<uint64_t> bdev_uring_rescan(Bdev& bdev, bool may_shrink);

// The uring file behind `bdev`, or nullptr if it is not a uring bdev.
[[nodiscard]] const UringFile* uring_file(Bdev& bdev);

}  // namespace vhostd::block

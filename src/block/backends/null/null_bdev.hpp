// Null bdev: accepts every I/O and does nothing (SPDK's bdev_null_create). Reads leave the
// buffers untouched, as SPDK's null bdev does; for measuring the rest of the stack.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "block/bdev.hpp"

namespace vhostd::block {

struct ModuleContext;  // block/bdev_rpc.hpp

// Registers the module's RPC methods (null_rpc.cpp); called once from app.
void register_null_module(ModuleContext& context);

// Parameters of bdev_null_create, named as in SPDK's RPC.
struct NullParams {
    std::string name;
    uint64_t num_blocks = 0;
    uint32_t block_size = 512;
    std::string uuid;  // empty: generate one
};

[[nodiscard]] Result<std::shared_ptr<Bdev>> bdev_null_create(const NullParams& params);

// SPDK's bdev_null_resize: grows null bdev `bdev` to `new_size_mib` MiB. Shrinking is refused
// (as SPDK does), as is a size that is not a whole number of blocks or a non-null bdev.
[[nodiscard]] Result<void> bdev_null_resize(Bdev& bdev, uint64_t new_size_mib);

}  // namespace vhostd::block

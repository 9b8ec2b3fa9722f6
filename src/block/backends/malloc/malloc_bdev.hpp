// Malloc bdev: a RAM disk (SPDK's bdev_malloc_create). Data lives in host memory and is lost
// when the bdev goes away; for tests, benchmarks and scratch disks.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "block/bdev.hpp"

namespace vhostd::block {

struct ModuleContext;  // block/bdev_rpc.hpp

// Registers the module's RPC methods (malloc_rpc.cpp); called once from app.
void register_malloc_module(ModuleContext& context);

// Parameters of bdev_malloc_create, named as in SPDK's RPC.
struct MallocParams {
    std::string name;
    uint64_t num_blocks = 0;
    uint32_t block_size = 512;
    std::string uuid;  // empty: generate one
};

[[nodiscard]] Result<std::shared_ptr<Bdev>> bdev_malloc_create(const MallocParams& params);

}  // namespace vhostd::block

// Bdev base: geometry and identity shared by every backend.
#include "block/bdev.hpp"

#include <utility>

#include "block/uuid.hpp"

namespace vhostd::block {

Bdev::Bdev(std::string name, std::string product, uint32_t block_size, uint64_t num_blocks,
           Capabilities caps, std::string uuid)
    : name_(std::move(name)),
      product_(std::move(product)),
      block_size_(block_size),
      num_blocks_(num_blocks),
      caps_(caps),
      uuid_(uuid.empty() ? generate_uuid() : std::move(uuid)) {}

}  // namespace vhostd::block

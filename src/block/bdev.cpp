// Bdev base: geometry and identity shared by every backend.
#include "block/bdev.hpp"

#include <algorithm>
#include <utility>

#include "base/log.hpp"
#include "block/uuid.hpp"

namespace vhostd::block {

Bdev::Bdev(std::string name, std::string product, uint32_t block_size, uint64_t num_blocks,
           Capabilities caps, std::string uuid)
    : name_(std::move(name)),
      product_(std::move(product)),
      block_size_(block_size),
      num_blocks_(std::make_shared<std::atomic<uint64_t>>(num_blocks)),
      caps_(caps),
      uuid_(uuid.empty() ? generate_uuid() : std::move(uuid)) {}

uint64_t Bdev::add_resize_listener(ResizeListener listener) {
    const uint64_t token = next_listener_token_++;
    resize_listeners_.emplace_back(token, std::move(listener));
    return token;
}

void Bdev::remove_resize_listener(uint64_t token) {
    std::erase_if(resize_listeners_, [token](const auto& l) { return l.first == token; });
}

void Bdev::set_num_blocks(uint64_t num_blocks) {
    const uint64_t was = num_blocks_->exchange(num_blocks, std::memory_order_relaxed);
    if (was == num_blocks) {
        return;
    }
    LOG_INFO(block, "bdev {}: resized to {} blocks of {} bytes (was {})", name_, num_blocks,
             block_size_, was);
    // A listener may remove itself (or another): iterate over a snapshot of the tokens.
    std::vector<uint64_t> tokens;
    tokens.reserve(resize_listeners_.size());
    for (const auto& l : resize_listeners_) {
        tokens.push_back(l.first);
    }
    for (uint64_t token : tokens) {
        auto it = std::find_if(resize_listeners_.begin(), resize_listeners_.end(),
                               [token](const auto& l) { return l.first == token; });
        if (it != resize_listeners_.end()) {
            auto listener = it->second;  // a copy: the listener may erase its own entry
            listener(*this);
        }
    }
}

}  // namespace vhostd::block

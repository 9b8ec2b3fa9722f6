// Factory parameter checks.
#include "block/bdev_checks.hpp"

#include <bit>

#include "block/uuid.hpp"

namespace vhostd::block {
namespace {

// ASCII only, whatever the process locale says.
bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':';
}

}  // namespace

Result<void> check_bdev_name(std::string_view name) {
    if (name.empty()) {
        return make_error(EINVAL, "bdev name must not be empty");
    }
    if (name.size() > kMaxBdevNameLength) {
        return make_error(EINVAL, "bdev name is {} bytes long; the limit is {}", name.size(),
                          kMaxBdevNameLength);
    }
    for (size_t i = 0; i < name.size(); ++i) {
        if (!is_name_char(name[i])) {
            // The name itself is not echoed: it may hold control characters.
            return make_error(EINVAL,
                              "bdev name has character {:#04x} at position {}; allowed are "
                              "letters, digits and _ - . :",
                              static_cast<unsigned char>(name[i]), i);
        }
    }
    return {};
}

Result<void> check_block_size(std::string_view name, uint32_t block_size) {
    if (!std::has_single_bit(block_size) || block_size < kMinBlockSize ||
        block_size > kMaxBlockSize) {
        return make_error(EINVAL, "bdev {}: block_size {} must be a power of two from {} to {}",
                          name, block_size, kMinBlockSize, kMaxBlockSize);
    }
    return {};
}

Result<uint64_t> checked_size_bytes(std::string_view name, uint32_t block_size,
                                    uint64_t num_blocks) {
    if (num_blocks == 0) {
        return make_error(EINVAL, "bdev {}: num_blocks must be greater than 0", name);
    }
    uint64_t size = 0;
    if (__builtin_mul_overflow(num_blocks, uint64_t{block_size}, &size)) {
        return make_error(EOVERFLOW, "bdev {}: {} blocks of {} bytes overflow 64 bits", name,
                          num_blocks, block_size);
    }
    return size;
}

Result<std::string> check_uuid(std::string_view name, std::string_view uuid) {
    if (uuid.empty()) {
        return std::string();
    }
    auto normalized = normalize_uuid(uuid);
    if (!normalized) {
        return make_error(EINVAL, "bdev {}: {}", name, normalized.error().message);
    }
    return normalized;
}

}  // namespace vhostd::block

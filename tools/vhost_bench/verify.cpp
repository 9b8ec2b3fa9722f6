// Verify mode: sector stamps and their checks.
#include "verify.hpp"

#include <cstring>

namespace vhostd::bench {
namespace {

struct StampHeader {
    uint64_t lba;
    uint32_t generation;
    uint32_t version;
    uint64_t checksum;  // over the header (checksum zeroed) and the payload
};
static_assert(sizeof(StampHeader) == 24);

constexpr size_t kPayloadWords = (kSector - sizeof(StampHeader)) / 8;

uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

// A word-at-a-time multiplicative hash: cheap, and any changed word changes the result.
uint64_t checksum(const StampHeader& header, const uint64_t* payload) {
    uint64_t h = mix(header.lba ^ (uint64_t{header.generation} << 32 | header.version));
    for (size_t i = 0; i < kPayloadWords; ++i) {
        h = (h ^ payload[i]) * 0x100000001b3ULL + i;
    }
    return mix(h);
}

}  // namespace

const char* to_string(VerifyError e) {
    switch (e) {
        case VerifyError::none:
            return "none";
        case VerifyError::misplaced:
            return "misplaced block (wrong LBA)";
        case VerifyError::stale:
            return "stale block (older write or earlier run)";
        case VerifyError::torn:
            return "torn or corrupt block (checksum)";
    }
    return "?";
}

void stamp_block(std::span<std::byte> buffer, uint64_t lba, uint32_t generation,
                 uint32_t version) noexcept {
    for (size_t off = 0; off + kSector <= buffer.size(); off += kSector, ++lba) {
        StampHeader header{lba, generation, version, 0};
        uint64_t payload[kPayloadWords];
        uint64_t seed = mix(lba * 0x9e3779b97f4a7c15ULL ^ generation ^ (uint64_t{version} << 40));
        for (auto& word : payload) {
            seed += 0x9e3779b97f4a7c15ULL;
            word = seed ^ (seed >> 29);
        }
        header.checksum = checksum(header, payload);
        std::memcpy(buffer.data() + off, &header, sizeof(header));
        std::memcpy(buffer.data() + off + sizeof(header), payload, sizeof(payload));
    }
}

VerifyError check_block(std::span<const std::byte> buffer, uint64_t lba, uint32_t generation,
                        uint32_t version, uint64_t& bad_lba) noexcept {
    for (size_t off = 0; off + kSector <= buffer.size(); off += kSector, ++lba) {
        StampHeader header;
        uint64_t payload[kPayloadWords];
        std::memcpy(&header, buffer.data() + off, sizeof(header));
        std::memcpy(payload, buffer.data() + off + sizeof(header), sizeof(payload));
        const uint64_t stored = header.checksum;
        header.checksum = 0;
        VerifyError error = VerifyError::none;
        if (checksum(header, payload) != stored) {
            error = VerifyError::torn;
        } else if (header.lba != lba) {
            error = VerifyError::misplaced;
        } else if (header.generation != generation || header.version != version) {
            error = VerifyError::stale;
        }
        if (error != VerifyError::none) {
            bad_lba = lba;
            return error;
        }
    }
    return VerifyError::none;
}

}  // namespace vhostd::bench

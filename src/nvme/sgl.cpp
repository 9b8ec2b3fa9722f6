// SGL walker (NVMe 1.4 4.4): data block, segment and last segment descriptors; bit buckets
// and keyed or transport descriptors are refused (SGLS reports none of them).
#include <cstring>
#include <optional>

#include "nvme/data_pointer.hpp"

namespace vhostd::nvme {

namespace {

using nvme_spec::SglDescriptor;

uint8_t type_of(const SglDescriptor& d) {
    return static_cast<uint8_t>(d.identifier >> 4);
}
uint8_t subtype_of(const SglDescriptor& d) {
    return static_cast<uint8_t>(d.identifier & 0xf);
}

// One walk: the iovecs built so far and the bytes they hold.
class SglWalk {
  public:
    SglWalk(const guest_memory::GuestMemory& memory, uint64_t length, std::span<iovec> out)
        : memory_(memory), length_(length), iov_(out) {}

    Status data_block(const SglDescriptor& d) {
        // 4.4: Address subtype only; offsets are for NVMe over Fabrics.
        if (subtype_of(d) != nvme_spec::kSglSubtypeAddress) {
            return status::kSglTypeInvalid;
        }
        // SGLS bit 18 is clear: an SGL that describes more data than the command transfers
        // is invalid, not truncated.
        if (d.length > length_ - total_) {
            return status::kSglLengthInvalid;
        }
        if (Status s = iov_.add(memory_, d.address, d.length); s != kSuccess) {
            return s;
        }
        total_ += d.length;
        return kSuccess;
    }

    std::expected<size_t, Status> finish() const {
        if (total_ != length_) {
            return std::unexpected(status::kSglLengthInvalid);
        }
        return iov_.count();
    }

  private:
    const guest_memory::GuestMemory& memory_;
    const uint64_t length_;
    IovecBuilder iov_;
    uint64_t total_ = 0;
};

}  // namespace

std::expected<size_t, Status> map_sgl(const guest_memory::GuestMemory& memory,
                                      const SglDescriptor& first, uint64_t length,
                                      std::span<iovec> out, uint32_t max_descriptors) {
    using namespace nvme_spec::sgl_type;
    SglWalk walk(memory, length, out);
    switch (type_of(first)) {
        case kDataBlock:
            if (Status s = walk.data_block(first); s != kSuccess) {
                return std::unexpected(s);
            }
            return walk.finish();
        case kSegment:
        case kLastSegment:
            break;
        default:
            // Bit buckets (SGLS bit 16), keyed (bit 2) and transport data blocks are not
            // supported; anything else is reserved.
            return std::unexpected(status::kSglTypeInvalid);
    }
    SglDescriptor segment = first;
    uint32_t walked = 1;
    // Each pass walks at least one descriptor and the total is capped, so a segment that
    // points back at itself ends with an error rather than a loop.
    for (;;) {
        if (subtype_of(segment) != nvme_spec::kSglSubtypeAddress) {
            return std::unexpected(status::kSglTypeInvalid);
        }
        // 4.4: a segment is a whole number of 16-byte descriptors, at least one.
        if (segment.length == 0 || segment.length % sizeof(SglDescriptor) != 0) {
            return std::unexpected(status::kSglSegmentInvalid);
        }
        const uint32_t count = segment.length / sizeof(SglDescriptor);
        if (count > max_descriptors || walked > max_descriptors - count) {
            return std::unexpected(status::kSglCountInvalid);
        }
        walked += count;
        const auto* raw =
            static_cast<const uint8_t*>(memory.host_address(segment.address, segment.length));
        if (raw == nullptr) {
            return std::unexpected(status::kDataTransferError);
        }
        const bool last = type_of(segment) == kLastSegment;
        std::optional<SglDescriptor> next;
        for (uint32_t i = 0; i < count; ++i) {
            SglDescriptor d;
            std::memcpy(&d, raw + size_t{i} * sizeof(d), sizeof(d));  // read once
            const uint8_t type = type_of(d);
            if (type == kDataBlock) {
                if (Status s = walk.data_block(d); s != kSuccess) {
                    return std::unexpected(s);
                }
            } else if (type == kSegment || type == kLastSegment) {
                // 4.4: only a segment's last descriptor may point to the next segment, and a
                // last segment points to none.
                if (last || i + 1 != count) {
                    return std::unexpected(status::kSglSegmentInvalid);
                }
                next = d;
            } else {
                return std::unexpected(status::kSglTypeInvalid);
            }
        }
        if (!next) {
            if (!last) {
                // A (non-last) segment must end with a pointer to the next segment.
                return std::unexpected(status::kSglSegmentInvalid);
            }
            break;
        }
        segment = *next;
    }
    return walk.finish();
}

}  // namespace vhostd::nvme

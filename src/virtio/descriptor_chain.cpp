// Descriptor chain walker: follows direct and indirect descriptors with every bound the spec
// sets, copying each descriptor once before looking at it.
#include "virtio/descriptor_chain.hpp"

#include <cstring>

namespace vhostd::virtio {

const char* to_string(ChainError e) {
    switch (e) {
        case ChainError::none:
            return "none";
        case ChainError::bad_index:
            return "descriptor index out of range";
        case ChainError::too_many_descriptors:
            return "chain too long (loop?)";
        case ChainError::nested_indirect:
            return "indirect descriptor inside an indirect table";
        case ChainError::indirect_with_next:
            return "indirect descriptor with NEXT set";
        case ChainError::bad_indirect_table:
            return "bad indirect table";
        case ChainError::bad_address:
            return "buffer outside guest memory";
        case ChainError::readable_after_writable:
            return "device-readable after device-writable";
        case ChainError::too_long:
            return "request too long";
        case ChainError::too_many_segments:
            return "too many segments";
    }
    return "unknown";
}

namespace {

VringDesc read_descriptor(DescTable table, uint32_t index) {
    VringDesc desc;
    std::memcpy(&desc, static_cast<const uint8_t*>(table.base) + size_t{index} * sizeof(desc),
                sizeof(desc));
    return desc;
}

// Accumulates buffers into the chain; once a request-level error is recorded it stops storing
// iovecs but keeps tracking the last descriptor.
class ChainBuilder {
  public:
    ChainBuilder(DescriptorChain& chain, const guest_memory::GuestMemory& memory,
                 const ChainLimits& limits, std::span<iovec> storage)
        : chain_(chain), memory_(memory), limits_(limits), storage_(storage) {}

    void add(const VringDesc& desc) {
        const bool writable = (desc.flags & desc_flags::kWrite) != 0;
        chain_.last = ChainDescriptor{desc.addr, desc.len, writable};
        // 2.7.4.2: device-writable elements come after all device-readable ones.
        if (!writable && seen_writable_) {
            fail(ChainError::readable_after_writable);
        }
        seen_writable_ |= writable;
        total_ += desc.len;  // at most 2^32 descriptors of < 2^32 bytes: cannot overflow u64
        if (total_ > limits_.max_total_bytes) {
            fail(ChainError::too_long);
        }
        if (chain_.error != ChainError::none) {
            return;
        }
        auto n = memory_.translate(desc.addr, desc.len, storage_.subspan(used_));
        if (!n) {
            fail(n.error() == guest_memory::TranslateError::out_of_range
                     ? ChainError::bad_address
                     : ChainError::too_many_segments);
            return;
        }
        used_ += *n;
        if (writable) {
            chain_.writable_bytes += desc.len;
        } else {
            chain_.readable_bytes += desc.len;
            chain_.readable_iovecs = used_;
        }
    }

    void finish() { chain_.iov = storage_.first(used_); }

  private:
    void fail(ChainError e) {
        if (chain_.error == ChainError::none) {
            chain_.error = e;
        }
    }

    DescriptorChain& chain_;
    const guest_memory::GuestMemory& memory_;
    const ChainLimits& limits_;
    std::span<iovec> storage_;
    size_t used_ = 0;
    uint64_t total_ = 0;
    bool seen_writable_ = false;
};

}  // namespace

DescriptorChain walk_chain(DescTable table, uint16_t head, const guest_memory::GuestMemory& memory,
                           const ChainLimits& limits, bool indirect_allowed,
                           std::span<iovec> storage) {
    DescriptorChain chain;
    chain.head = head;
    ChainBuilder builder(chain, memory, limits, storage);
    auto ring_error = [&](ChainError e) {
        chain.error = e;
        chain.iov = {};
        return chain;
    };

    DescTable current = table;
    uint32_t index = head;
    bool in_indirect = false;
    // Every iteration visits one descriptor and the count is bounded, so a looping chain ends.
    for (;;) {
        if (index >= current.size) {
            return ring_error(ChainError::bad_index);
        }
        if (++chain.descriptors > limits.max_descriptors) {
            return ring_error(ChainError::too_many_descriptors);
        }
        const VringDesc desc = read_descriptor(current, index);
        if ((desc.flags & desc_flags::kIndirect) != 0) {
            // 2.7.5.3.1: INDIRECT only if negotiated, never inside an indirect table, never
            // together with NEXT; the table is a whole number of descriptors.
            if (in_indirect) {
                return ring_error(ChainError::nested_indirect);
            }
            if ((desc.flags & desc_flags::kNext) != 0) {
                return ring_error(ChainError::indirect_with_next);
            }
            const uint32_t entries = desc.len / sizeof(VringDesc);
            const void* host = memory.host_address(desc.addr, desc.len);
            if (!indirect_allowed || desc.len == 0 || desc.len % sizeof(VringDesc) != 0 ||
                entries > limits.max_descriptors || host == nullptr) {
                return ring_error(ChainError::bad_indirect_table);
            }
            current = DescTable{host, entries};
            index = 0;
            in_indirect = true;
            continue;
        }
        builder.add(desc);
        if ((desc.flags & desc_flags::kNext) == 0) {
            break;
        }
        index = desc.next;
    }
    builder.finish();
    return chain;
}

}  // namespace vhostd::virtio

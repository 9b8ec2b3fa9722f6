// Descriptor chain walkers (split and packed rings) over the shared ChainWalker: direct and
// indirect descriptors with every bound the spec sets, each copied once before it is looked at.
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
        case ChainError::bad_buffer_id:
            return "buffer ID out of range or already in flight";
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

ChainWalker::ChainWalker(uint16_t head, const guest_memory::GuestMemory& memory,
                         const ChainLimits& limits, bool indirect_allowed, std::span<iovec> storage)
    : memory_(memory), limits_(limits), indirect_allowed_(indirect_allowed), storage_(storage) {
    chain_.head = head;
}

bool ChainWalker::visit() {
    if (++chain_.descriptors > limits_.max_descriptors) {
        fail(ChainError::too_many_descriptors);
        return false;
    }
    return true;
}

std::optional<DescTable> ChainWalker::enter_indirect(uint64_t addr, uint32_t len, bool has_next) {
    // 2.7.5.3.1 / 2.8.19: INDIRECT only if negotiated, never inside an indirect table, never
    // together with NEXT; the table is a whole number of 16-byte descriptors in guest RAM.
    if (in_indirect_) {
        fail(ChainError::nested_indirect);
        return std::nullopt;
    }
    if (has_next) {
        fail(ChainError::indirect_with_next);
        return std::nullopt;
    }
    static_assert(sizeof(VringDesc) == sizeof(PackedDesc));
    const uint32_t entries = len / sizeof(VringDesc);
    const void* host = memory_.host_address(addr, len);
    if (!indirect_allowed_ || len == 0 || len % sizeof(VringDesc) != 0 ||
        entries > limits_.max_descriptors || host == nullptr) {
        fail(ChainError::bad_indirect_table);
        return std::nullopt;
    }
    in_indirect_ = true;
    return DescTable{host, entries};
}

void ChainWalker::add(uint64_t addr, uint32_t len, bool writable) {
    chain_.last = ChainDescriptor{addr, len, writable};
    // 2.7.4.2 / 2.8: device-writable elements come after all device-readable ones.
    if (!writable && seen_writable_) {
        fail_request(ChainError::readable_after_writable);
    }
    seen_writable_ |= writable;
    total_ += len;  // at most 2^32 descriptors of < 2^32 bytes: cannot overflow u64
    if (total_ > limits_.max_total_bytes) {
        fail_request(ChainError::too_long);
    }
    if (chain_.error != ChainError::none) {
        return;  // a failed request stores no more iovecs but keeps tracking `last`
    }
    auto n = memory_.translate(addr, len, storage_.subspan(used_));
    if (!n) {
        fail_request(n.error() == guest_memory::TranslateError::out_of_range
                         ? ChainError::bad_address
                         : ChainError::too_many_segments);
        return;
    }
    used_ += *n;
    if (writable) {
        chain_.writable_bytes += len;
    } else {
        chain_.readable_bytes += len;
        chain_.readable_iovecs = used_;
    }
}

void ChainWalker::fail_request(ChainError e) {
    if (chain_.error == ChainError::none) {
        chain_.error = e;
    }
}

void ChainWalker::fail(ChainError e) {
    chain_.error = e;
}

DescriptorChain ChainWalker::finish() {
    chain_.iov = failed() ? std::span<iovec>() : storage_.first(used_);
    return chain_;
}

namespace {

// Descriptors are copied out of guest memory before anything looks at them.
template <class Desc>
Desc read_descriptor(DescTable table, uint32_t index) {
    Desc desc;
    std::memcpy(&desc, static_cast<const uint8_t*>(table.base) + size_t{index} * sizeof(desc),
                sizeof(desc));
    return desc;
}

}  // namespace

// Flattened: the walker's steps and the translation's usual case inline into the loop (one
// call per descriptor was a third of the walk's cost).
[[gnu::flatten]] DescriptorChain walk_chain(DescTable table, uint16_t head,
                                            const guest_memory::GuestMemory& memory,
                                            const ChainLimits& limits, bool indirect_allowed,
                                            std::span<iovec> storage) {
    ChainWalker walker(head, memory, limits, indirect_allowed, storage);
    DescTable current = table;
    uint32_t index = head;
    // Every iteration visits one descriptor and the count is bounded, so a looping chain ends.
    for (;;) {
        if (index >= current.size) {
            walker.fail(ChainError::bad_index);  // 2.7.5: next indexes the same table
            break;
        }
        if (!walker.visit()) {
            break;
        }
        const auto desc = read_descriptor<VringDesc>(current, index);
        if ((desc.flags & desc_flags::kIndirect) != 0) {
            auto indirect =
                walker.enter_indirect(desc.addr, desc.len, (desc.flags & desc_flags::kNext) != 0);
            if (!indirect) {
                break;
            }
            current = *indirect;
            index = 0;
            continue;
        }
        walker.add(desc.addr, desc.len, (desc.flags & desc_flags::kWrite) != 0);
        if ((desc.flags & desc_flags::kNext) == 0) {
            break;
        }
        index = desc.next;
    }
    return walker.finish();
}

[[gnu::flatten]] DescriptorChain walk_packed_chain(std::span<const PackedDesc> descs, uint16_t id,
                                                   const guest_memory::GuestMemory& memory,
                                                   const ChainLimits& limits, bool indirect_allowed,
                                                   std::span<iovec> storage) {
    ChainWalker walker(id, memory, limits, indirect_allowed, storage);
    for (size_t i = 0; i < descs.size(); ++i) {
        if (!walker.visit()) {
            return walker.finish();
        }
        const PackedDesc& desc = descs[i];
        if ((desc.flags & desc_flags::kIndirect) == 0) {
            walker.add(desc.addr, desc.len, (desc.flags & desc_flags::kWrite) != 0);
            continue;
        }
        // 2.8.19: no INDIRECT descriptor in a list linked by NEXT, on either side of it.
        auto table = walker.enter_indirect(desc.addr, desc.len, descs.size() != 1);
        if (!table) {
            return walker.finish();
        }
        // 2.8.7: entries are used in order; WRITE is their only flag (NEXT, INDIRECT and the
        // buffer ID are reserved and ignored), so nothing in a table can nest or loop.
        for (uint32_t entry = 0; entry < table->size; ++entry) {
            if (!walker.visit()) {
                return walker.finish();
            }
            const auto inner = read_descriptor<PackedDesc>(*table, entry);
            walker.add(inner.addr, inner.len, (inner.flags & desc_flags::kWrite) != 0);
        }
    }
    return walker.finish();
}

}  // namespace vhostd::virtio

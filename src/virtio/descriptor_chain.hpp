// DescriptorChain: what one request's descriptor chain resolves to once walked: host iovecs
// (device-readable first, then device-writable), byte counts, and the final descriptor, where
// devices put their status byte. Walking is bounded and checks every rule the spec gives.
#pragma once

#include <cstdint>
#include <span>

#include <sys/uio.h>

#include "guest_memory/guest_memory.hpp"
#include "spec/virtio.hpp"

namespace vhostd::virtio {

// Why a walk failed.
enum class ChainError : uint8_t {
    none,
    // Ring-level corruption: the queue can no longer be trusted and is stopped
    // (device NEEDS_RESET). No status can be written because the chain's end is unknown.
    bad_index,             // a head or next index >= queue size (2.7.5)
    too_many_descriptors,  // longer than the limit: a loop, or beyond queue size (2.7.5.3.1)
    nested_indirect,       // INDIRECT inside an indirect table (2.7.5.3.1)
    indirect_with_next,    // INDIRECT and NEXT both set (2.7.5.3.1)
    bad_indirect_table,    // length 0, not a multiple of 16, or not in guest RAM
    // Request-level: the chain is well-formed, so its final descriptor is known and the
    // device can complete the request with an error status.
    bad_address,              // a buffer is not (entirely) guest RAM
    readable_after_writable,  // device-readable after device-writable (2.7.4.2)
    too_long,                 // total length over the device's limit
    too_many_segments,        // more host iovecs than the request context holds
};

constexpr bool is_ring_error(ChainError e) {
    return e == ChainError::bad_index || e == ChainError::too_many_descriptors ||
           e == ChainError::nested_indirect || e == ChainError::indirect_with_next ||
           e == ChainError::bad_indirect_table;
}
const char* to_string(ChainError e);

struct ChainLimits {
    uint32_t max_descriptors;  // direct + indirect descriptors in one chain
    uint64_t max_total_bytes;  // readable + writable bytes
};

// A descriptor as read (copied once) from guest memory.
struct ChainDescriptor {
    uint64_t addr = 0;
    uint32_t len = 0;
    bool writable = false;
};

struct DescriptorChain {
    uint16_t head = 0;
    uint32_t descriptors = 0;    // descriptors visited (direct + indirect)
    std::span<iovec> iov;        // readable iovecs, then writable ones
    size_t readable_iovecs = 0;  // iov[0, readable_iovecs) are device-readable
    uint64_t readable_bytes = 0;
    uint64_t writable_bytes = 0;
    ChainDescriptor last;  // the chain's final descriptor
    ChainError error = ChainError::none;

    [[nodiscard]] std::span<iovec> readable() const { return iov.first(readable_iovecs); }
    [[nodiscard]] std::span<iovec> writable() const { return iov.subspan(readable_iovecs); }
};

// A descriptor table in host memory (the queue's own table or an indirect table). Entries are
// guest-writable: each is copied once before use.
struct DescTable {
    const void* base = nullptr;  // guest-chosen address: no alignment is assumed
    uint32_t size = 0;
};

// Walks the chain starting at `head` in a descriptor table of `queue_size` entries, translating
// buffers through `memory` into `storage`. On a request-level error the walk still runs to the
// end of the chain so `last` is valid; on a ring-level error it stops at once.
DescriptorChain walk_chain(DescTable table, uint16_t head, const guest_memory::GuestMemory& memory,
                           const ChainLimits& limits, bool indirect_allowed,
                           std::span<iovec> storage);

}  // namespace vhostd::virtio

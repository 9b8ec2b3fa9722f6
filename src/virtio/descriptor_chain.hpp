// DescriptorChain: what one request's descriptor chain resolves to once walked: host iovecs
// (device-readable first, then device-writable), byte counts, and the final descriptor, where
// devices put their status byte. Walking is bounded and checks every rule the spec gives.
#pragma once

#include <cstdint>
#include <optional>
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
    bad_buffer_id,         // packed: a buffer ID >= queue size, or one already in flight
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
           e == ChainError::bad_indirect_table || e == ChainError::bad_buffer_id;
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

// The rules every ring layout's walker shares: the bound on descriptors visited, when an
// indirect table may be entered and what it must look like, and the accumulation of buffers
// into the chain (translation, direction order, length). A layout's walker reads each
// descriptor once and feeds it here in chain order. On a request-level error the walk goes on
// to the end of the chain so `last` is valid; a ring-level error ends it.
class ChainWalker {
  public:
    ChainWalker(uint16_t head, const guest_memory::GuestMemory& memory, const ChainLimits& limits,
                bool indirect_allowed, std::span<iovec> storage);

    // Counts one more descriptor (direct or indirect); false, with the walk failed, once the
    // chain is longer than the limit (a looping chain ends here).
    [[nodiscard]] bool visit();
    // An INDIRECT descriptor: its table if the spec allows entering it here; otherwise the walk
    // has failed with a ring error.
    [[nodiscard]] std::optional<DescTable> enter_indirect(uint64_t addr, uint32_t len,
                                                          bool has_next);
    [[nodiscard]] bool in_indirect() const { return in_indirect_; }
    // A buffer descriptor.
    void add(uint64_t addr, uint32_t len, bool writable);
    // Ends the walk with a ring-level error (no iovecs are returned).
    void fail(ChainError e);
    [[nodiscard]] bool failed() const { return is_ring_error(chain_.error); }
    // The walked chain.
    [[nodiscard]] DescriptorChain finish();

  private:
    void fail_request(ChainError e);

    DescriptorChain chain_;
    const guest_memory::GuestMemory& memory_;
    const ChainLimits& limits_;
    bool indirect_allowed_;
    std::span<iovec> storage_;
    size_t used_ = 0;
    uint64_t total_ = 0;
    bool seen_writable_ = false;
    bool in_indirect_ = false;
};

// Walks the split-ring chain starting at `head` in a descriptor table of `queue_size` entries,
// translating buffers through `memory` into `storage`.
DescriptorChain walk_chain(DescTable table, uint16_t head, const guest_memory::GuestMemory& memory,
                           const ChainLimits& limits, bool indirect_allowed,
                           std::span<iovec> storage);

// Walks a packed-ring buffer whose ring descriptors were copied (in list order) into `descs`;
// `id` is its buffer ID. A descriptor with INDIRECT must be the list's only one (2.8.19);
// its table's entries are used in order (2.8.7).
DescriptorChain walk_packed_chain(std::span<const PackedDesc> descs, uint16_t id,
                                  const guest_memory::GuestMemory& memory,
                                  const ChainLimits& limits, bool indirect_allowed,
                                  std::span<iovec> storage);

}  // namespace vhostd::virtio

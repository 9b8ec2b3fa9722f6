// DmaTable: the client memory a vfio-user client has declared with DMA_MAP, and the parsing
// of DMA_MAP / DMA_UNMAP. A region that came with an fd and may be read and written is mapped
// (guest_memory::MappedRegion, so the SIGBUS guard covers it) and reachable by the device
// through the GuestMemory snapshot; the others (no fd, or read-only / write-only) are recorded
// so that overlaps and unmaps stay exact, but the device cannot reach them: vhostd does not
// implement the DMA_READ/DMA_WRITE slow path, and GuestMemory has no per-region protection.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "guest_memory/guest_memory.hpp"
#include "vfio_user/message.hpp"

namespace vhostd::vfio_user {

struct DmaRegion {
    uint64_t addr = 0;  // the client's DMA (I/O virtual) address
    uint64_t size = 0;
    uint32_t flags = 0;  // kDmaRead | kDmaWrite
    // Set when the device can reach the region (it came with an fd and is read-write).
    guest_memory::GuestMemory::RegionPtr mapped;

    [[nodiscard]] uint64_t end() const { return addr + size; }
};

// A DMA_UNMAP after its checks: one exact range, or every region.
struct DmaUnmapRequest {
    DmaUnmap wire{};  // echoed in the reply
    bool all = false;
};

class DmaTable {
  public:
    // max_dma_maps we advertise: every region may be mapped, and GuestMemory holds at most
    // this many.
    static constexpr size_t kMaxRegions = guest_memory::GuestMemory::kMaxRegions;

    // DMA_MAP: checks the message and the new range against the table, then maps the fd (if
    // any, and the region is read-write) and adds the region. Errors leave the table as it
    // was; the message's fd is closed either way unless the region keeps it.
    [[nodiscard]] Result<void> map(Message& message);
    // DMA_UNMAP: checks the message (an fd that comes with it, as SPDK's client sends, is
    // closed unused) and returns what it asks for; remove() applies it.
    [[nodiscard]] static Result<DmaUnmapRequest> parse_unmap(const Message& message);
    // Removes the region matching the request exactly (or all): ENOENT if no region overlaps
    // it, ENOTSUP if it would split or merge regions.
    [[nodiscard]] Result<void> remove(const DmaUnmapRequest& request);

    // Forgets every region (the client went away).
    void clear();

    // The reachable regions as the snapshot a Function is handed.
    [[nodiscard]] const guest_memory::GuestMemory::Ptr& memory() const { return memory_; }
    // True if the last map() or remove() changed the reachable regions (else the device's
    // snapshot need not change).
    [[nodiscard]] bool reachable_changed() const { return reachable_changed_; }

    [[nodiscard]] const std::vector<DmaRegion>& regions() const { return regions_; }

  private:
    // Installs `regions` and, if `changes_reachable`, a snapshot built from them; nothing
    // changes if the snapshot cannot be built.
    [[nodiscard]] Result<void> commit(std::vector<DmaRegion> regions, bool changes_reachable);

    std::vector<DmaRegion> regions_;  // sorted by addr, non-overlapping
    guest_memory::GuestMemory::Ptr memory_ = guest_memory::GuestMemory::empty();
    bool reachable_changed_ = false;
};

}  // namespace vhostd::vfio_user

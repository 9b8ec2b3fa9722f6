// DmaTable: DMA_MAP / DMA_UNMAP checks, mapping, and the reachable snapshot.
#include "vfio_user/dma_table.hpp"

#include <algorithm>
#include <limits>

namespace vhostd::vfio_user {

using guest_memory::GuestMemory;
using guest_memory::MappedRegion;

namespace {

bool overlaps(const DmaRegion& r, uint64_t addr, uint64_t size) {
    return addr < r.end() && r.addr < addr + size;
}

}  // namespace

Result<void> DmaTable::map(Message& message) {
    const auto request = VHOSTD_TRY(message.payload_as<DmaMap>());
    reachable_changed_ = false;
    // Spec DMA_MAP: argsz "is the size of the above structure" (no reply payload).
    if (request.argsz != sizeof(DmaMap)) {
        return make_error(EINVAL, "DMA_MAP: argsz {} (expected {})", request.argsz, sizeof(DmaMap));
    }
    // Spec DMA_MAP: one fd if the region is mappable, none otherwise.
    VHOSTD_TRY(message.expect_at_most_fds(1));
    // Spec DMA_MAP: bit 0 readable, bit 1 writeable; nothing else is defined.
    if ((request.flags & ~(kDmaRead | kDmaWrite)) != 0) {
        return make_error(EINVAL, "DMA_MAP: unknown flags {:#x}", request.flags);
    }
    if (request.size == 0 || request.addr > std::numeric_limits<uint64_t>::max() - request.size) {
        return make_error(EINVAL, "DMA_MAP: range {:#x}+{:#x} is empty or wraps", request.addr,
                          request.size);
    }
    // pgsizes (4 KiB) is the granularity we advertised.
    if (request.addr % kPageSize != 0 || request.size % kPageSize != 0) {
        return make_error(EINVAL, "DMA_MAP: range {:#x}+{:#x} is not {}-byte aligned", request.addr,
                          request.size, kPageSize);
    }
    // Spec DMA_MAP: the offset is "zero if the region is not mappable".
    if (message.fds.empty() && request.offset != 0) {
        return make_error(EINVAL, "DMA_MAP: offset {:#x} without a file descriptor",
                          request.offset);
    }
    // Spec DMA_MAP: "a command to map over an existing region must be failed ... with EEXIST".
    for (const DmaRegion& r : regions_) {
        if (overlaps(r, request.addr, request.size)) {
            return make_error(EEXIST, "DMA_MAP: {:#x}+{:#x} overlaps the region at {:#x}+{:#x}",
                              request.addr, request.size, r.addr, r.size);
        }
    }
    // max_dma_maps we advertised.
    if (regions_.size() >= kMaxRegions) {
        return make_error(ENOSPC, "DMA_MAP: all {} DMA regions are in use", kMaxRegions);
    }

    DmaRegion region{request.addr, request.size, request.flags, nullptr};
    constexpr uint32_t kReadWrite = kDmaRead | kDmaWrite;
    if (!message.fds.empty() && request.flags == kReadWrite) {
        // Mapped read-write: a file the client opened read-only fails here (EACCES), one that
        // cannot be mapped (a pipe, a socket) with ENODEV, one shorter than the range with
        // EINVAL. The I/O address doubles as the "user address" GuestMemory keeps apart.
        region.mapped = VHOSTD_TRY(
            MappedRegion::map(std::move(message.fds[0]), {.guest_phys_addr = request.addr,
                                                          .size = request.size,
                                                          .user_addr = request.addr,
                                                          .mmap_offset = request.offset}));
    }
    const bool reachable = region.mapped != nullptr;
    std::vector<DmaRegion> next = regions_;
    const auto at =
        std::upper_bound(next.begin(), next.end(), region.addr,
                         [](uint64_t addr, const DmaRegion& r) { return addr < r.addr; });
    next.insert(at, std::move(region));
    return commit(std::move(next), reachable);
}

Result<DmaUnmapRequest> DmaTable::parse_unmap(const Message& message) {
    const auto wire = VHOSTD_TRY(message.prefix_as<DmaUnmap>());
    // The dirty bitmap belongs to migration, which we do not offer.
    if ((wire.flags & kUnmapGetDirtyBitmap) != 0) {
        return make_error(ENOTSUP, "DMA_UNMAP: dirty page bitmaps are not supported");
    }
    if ((wire.flags & ~kUnmapAll) != 0) {
        return make_error(EINVAL, "DMA_UNMAP: unknown flags {:#x}", wire.flags);
    }
    if (message.payload.size() != sizeof(DmaUnmap)) {
        return make_error(EINVAL, "DMA_UNMAP: payload of {} bytes, expected {}",
                          message.payload.size(), sizeof(DmaUnmap));
    }
    // Spec "Message sizes": argsz is the largest reply the client takes; ours echoes the entry.
    if (wire.argsz < sizeof(DmaUnmap)) {
        return make_error(EINVAL, "DMA_UNMAP: argsz {} cannot hold the {}-byte reply", wire.argsz,
                          sizeof(DmaUnmap));
    }
    // SPDK's client passes the region's fd along; more than one is not a mistake we know.
    VHOSTD_TRY(message.expect_at_most_fds(1));
    DmaUnmapRequest request{wire, (wire.flags & kUnmapAll) != 0};
    // VFIO_DMA_UNMAP_FLAG_ALL: the range must be empty (as the kernel and libvfio-user check).
    if (request.all && (wire.addr != 0 || wire.size != 0)) {
        return make_error(EINVAL, "DMA_UNMAP: unmap-all with range {:#x}+{:#x}", wire.addr,
                          wire.size);
    }
    if (!request.all && wire.size == 0) {
        return make_error(EINVAL, "DMA_UNMAP: empty range at {:#x}", wire.addr);
    }
    return request;
}

Result<void> DmaTable::remove(const DmaUnmapRequest& request) {
    reachable_changed_ = false;
    if (request.all) {
        const bool reachable = std::any_of(regions_.begin(), regions_.end(),
                                           [](const DmaRegion& r) { return r.mapped != nullptr; });
        return commit({}, reachable);
    }
    const uint64_t addr = request.wire.addr;
    const uint64_t size = request.wire.size;
    // Spec DMA_UNMAP: "the address and size ... must match exactly a previous mapping".
    const auto it = std::find_if(regions_.begin(), regions_.end(), [&](const DmaRegion& r) {
        return r.addr == addr && r.size == size;
    });
    if (it == regions_.end()) {
        const bool partial = std::any_of(regions_.begin(), regions_.end(), [&](const DmaRegion& r) {
            return addr <= std::numeric_limits<uint64_t>::max() - size && overlaps(r, addr, size);
        });
        if (partial) {
            return make_error(ENOTSUP, "DMA_UNMAP: {:#x}+{:#x} is not exactly one mapped region",
                              addr, size);
        }
        return make_error(ENOENT, "DMA_UNMAP: nothing is mapped at {:#x}+{:#x}", addr, size);
    }
    const bool reachable = it->mapped != nullptr;
    std::vector<DmaRegion> next = regions_;
    next.erase(next.begin() + (it - regions_.begin()));
    return commit(std::move(next), reachable);
}

void DmaTable::clear() {
    regions_.clear();
    memory_ = GuestMemory::empty();
    reachable_changed_ = false;
}

Result<void> DmaTable::commit(std::vector<DmaRegion> regions, bool changes_reachable) {
    if (changes_reachable) {
        std::vector<GuestMemory::RegionPtr> reachable;
        for (const DmaRegion& r : regions) {
            if (r.mapped) {
                reachable.push_back(r.mapped);
            }
        }
        memory_ = VHOSTD_TRY(GuestMemory::create(std::move(reachable)));
    }
    regions_ = std::move(regions);
    reachable_changed_ = changes_reachable;
    return {};
}

}  // namespace vhostd::vfio_user

// GuestMemory: an immutable snapshot of the guest's RAM regions and the translation of
// guest-physical (descriptor) and frontend-virtual (ring) addresses into host memory. Every
// translation checks the whole length; a range that crosses regions becomes several iovecs.
//
// Snapshots are shared (shared_ptr<const GuestMemory>) by the queues that use them; changing
// the table builds a new snapshot, so a region stays mapped while any queue still holds a
// snapshot that contains it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <sys/uio.h>

#include "base/error.hpp"
#include "guest_memory/region.hpp"

namespace vhostd::guest_memory {

enum class TranslateError : uint8_t {
    out_of_range,       // some byte of the range is not guest RAM, or the range wraps
    too_many_segments,  // the range needs more iovecs than the caller provided
};

class GuestMemory {
  public:
    // VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS: the slot count vhostd advertises.
    static constexpr size_t kMaxRegions = 509;

    using RegionPtr = std::shared_ptr<const MappedRegion>;
    using Ptr = std::shared_ptr<const GuestMemory>;

    // The empty table.
    static Ptr empty();
    // A table of `regions`: at most kMaxRegions, and no two overlap in guest-physical or in
    // frontend-virtual space.
    static Result<Ptr> create(std::vector<RegionPtr> regions);

    // Copy-on-write edits (VHOST_USER_ADD_MEM_REG / REM_MEM_REG).
    [[nodiscard]] Result<Ptr> with_region(RegionPtr region) const;
    // Removes the region whose guest address, size and user address match `desc`.
    [[nodiscard]] Result<Ptr> without_region(const RegionDescriptor& desc) const;

    [[nodiscard]] std::span<const RegionPtr> regions() const { return regions_; }
    [[nodiscard]] bool is_empty() const { return regions_.empty(); }
    // Some region took a fault (MappedRegion::faulted): data through this table may be lost.
    [[nodiscard]] bool faulted() const noexcept;
    // Every region's file is sealed against shrinking.
    [[nodiscard]] bool sealed() const;

    // Guest-physical [gpa, gpa + len) as host iovecs written to the front of `out`; returns
    // how many were used. len == 0 yields zero iovecs.
    [[nodiscard]] std::expected<size_t, TranslateError> translate(uint64_t gpa, uint64_t len,
                                                                  std::span<iovec> out) const {
        // Every request's descriptors come here: the usual case (a non-empty range inside one
        // region of a small table) is answered inline; the rest by translate_pieces.
        if (const Span* span = find_small(gpa); span != nullptr && !out.empty()) {
            const uint64_t offset = gpa - span->begin;
            // len - 1 wraps for len == 0, which then takes the general path.
            if (len - 1 < span->size - offset) {
                out[0] = iovec{span->host + offset, static_cast<size_t>(len)};
                return 1;
            }
        }
        return translate_pieces(gpa, len, out);
    }

    // Host pointer to guest-physical [gpa, gpa + len) if the whole range lies in one region
    // (descriptor tables, indirect tables, request headers); nullptr otherwise.
    [[nodiscard]] void* host_address(uint64_t gpa, uint64_t len) const;

    // Guest-physical address of host [host, host + len) if it lies in one region: the dirty
    // log marks what the device wrote through translated iovecs (each lies in one region).
    [[nodiscard]] std::optional<uint64_t> gpa_of(const void* host, uint64_t len) const;
    // One past the highest guest-physical address of any region (0 for the empty table).
    [[nodiscard]] uint64_t gpa_end() const {
        return spans_.empty() ? 0 : spans_.back().begin + spans_.back().size;
    }

    // Host pointer to frontend-virtual [uva, uva + len) if it lies in one region (vring
    // addresses in VHOST_USER_SET_VRING_ADDR); nullptr otherwise.
    [[nodiscard]] void* host_address_from_user(uint64_t uva, uint64_t len) const;

  private:
    // What translation needs of a region, packed: every request's descriptors are looked up
    // here, and chasing each region's shared_ptr for its bounds cost more than the search.
    struct Span {
        uint64_t begin;  // guest-physical
        uint64_t size;
        uint8_t* host;
    };

    // A frontend has a handful of regions (QEMU: below and above 4 GiB): a scan of the packed
    // bounds beats a binary search there; a table near the slot limit is searched (find).
    static constexpr size_t kScanLimit = 8;

    explicit GuestMemory(std::vector<RegionPtr> regions);
    // The span containing `gpa`, or nullptr.
    [[nodiscard]] const Span* find(uint64_t gpa) const;
    // find() for tables of at most kScanLimit regions; nullptr for larger ones as well.
    [[nodiscard]] const Span* find_small(uint64_t gpa) const {
        if (spans_.size() > kScanLimit) {
            return nullptr;
        }
        for (const Span& span : spans_) {
            if (gpa - span.begin < span.size) {  // wraps (and fails) for gpa < begin
                return &span;
            }
        }
        return nullptr;
    }
    // translate() for any table and range: pieces across regions, empty ranges, errors.
    [[nodiscard]] std::expected<size_t, TranslateError> translate_pieces(
        uint64_t gpa, uint64_t len, std::span<iovec> out) const;

    std::vector<RegionPtr> regions_;  // sorted by guest-physical address, non-overlapping
    std::vector<Span> spans_;         // regions_' bounds, in the same order
};

}  // namespace vhostd::guest_memory

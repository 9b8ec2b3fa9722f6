// GuestMemory: region table validation and address translation.
#include "guest_memory/guest_memory.hpp"

#include <algorithm>

namespace vhostd::guest_memory {
namespace {

// True if sorted ranges [begin(r), end(r)) overlap anywhere.
template <class Begin, class End>
bool any_overlap(std::vector<const MappedRegion*> sorted, Begin begin, End end) {
    std::sort(sorted.begin(), sorted.end(),
              [&](const MappedRegion* a, const MappedRegion* b) { return begin(a) < begin(b); });
    for (size_t i = 1; i < sorted.size(); ++i) {
        if (begin(sorted[i]) < end(sorted[i - 1])) {
            return true;
        }
    }
    return false;
}

}  // namespace

GuestMemory::GuestMemory(std::vector<RegionPtr> regions) : regions_(std::move(regions)) {
    spans_.reserve(regions_.size());
    for (const RegionPtr& r : regions_) {
        spans_.push_back(Span{r->gpa_begin(), r->size(), r->host()});
    }
}

GuestMemory::Ptr GuestMemory::empty() {
    static const Ptr kEmpty(new GuestMemory({}));
    return kEmpty;
}

Result<GuestMemory::Ptr> GuestMemory::create(std::vector<RegionPtr> regions) {
    if (regions.size() > kMaxRegions) {
        return make_error(E2BIG, "{} memory regions exceed the limit of {}", regions.size(),
                          kMaxRegions);
    }
    std::vector<const MappedRegion*> raw;
    for (const auto& region : regions) {
        VHOSTD_TRY(validate_descriptor(region->descriptor()));
        raw.push_back(region.get());
    }
    // Regions must not alias: a guest address must translate to exactly one host address.
    if (any_overlap(
            raw, [](const MappedRegion* r) { return r->gpa_begin(); },
            [](const MappedRegion* r) { return r->gpa_end(); })) {
        return make_error(EINVAL, "memory regions overlap in guest-physical address space");
    }
    if (any_overlap(
            raw, [](const MappedRegion* r) { return r->uva_begin(); },
            [](const MappedRegion* r) { return r->uva_end(); })) {
        return make_error(EINVAL, "memory regions overlap in the frontend's address space");
    }
    std::sort(regions.begin(), regions.end(), [](const RegionPtr& a, const RegionPtr& b) {
        return a->gpa_begin() < b->gpa_begin();
    });
    return Ptr(new GuestMemory(std::move(regions)));
}

Result<GuestMemory::Ptr> GuestMemory::with_region(RegionPtr region) const {
    std::vector<RegionPtr> regions = regions_;
    regions.push_back(std::move(region));
    return create(std::move(regions));
}

Result<GuestMemory::Ptr> GuestMemory::without_region(const RegionDescriptor& desc) const {
    std::vector<RegionPtr> regions = regions_;
    auto it = std::find_if(regions.begin(), regions.end(), [&](const RegionPtr& r) {
        const RegionDescriptor& d = r->descriptor();
        return d.guest_phys_addr == desc.guest_phys_addr && d.size == desc.size &&
               d.user_addr == desc.user_addr;
    });
    if (it == regions.end()) {
        return make_error(ENOENT, "no memory region at gpa {:#x} size {:#x}", desc.guest_phys_addr,
                          desc.size);
    }
    regions.erase(it);
    return create(std::move(regions));
}

const GuestMemory::Span* GuestMemory::find(uint64_t gpa) const {
    if (spans_.size() <= kScanLimit) {
        return find_small(gpa);
    }
    // First span starting after gpa; the candidate is the one before it.
    auto it = std::upper_bound(spans_.begin(), spans_.end(), gpa,
                               [](uint64_t addr, const Span& span) { return addr < span.begin; });
    if (it == spans_.begin()) {
        return nullptr;
    }
    const Span* span = &*std::prev(it);
    return gpa - span->begin < span->size ? span : nullptr;
}

std::expected<size_t, TranslateError> GuestMemory::translate_pieces(uint64_t gpa, uint64_t len,
                                                                    std::span<iovec> out) const {
    if (len != 0 && gpa + (len - 1) < gpa) {
        return std::unexpected(TranslateError::out_of_range);
    }
    size_t used = 0;
    // Each step consumes at least one byte and moves to the next region, so the loop runs at
    // most min(out.size(), regions) times.
    while (len > 0) {
        const Span* span = find(gpa);
        if (span == nullptr) {
            return std::unexpected(TranslateError::out_of_range);
        }
        if (used == out.size()) {
            return std::unexpected(TranslateError::too_many_segments);
        }
        const uint64_t offset = gpa - span->begin;
        const uint64_t n = std::min(len, span->size - offset);
        out[used++] = iovec{span->host + offset, static_cast<size_t>(n)};
        gpa += n;
        len -= n;
    }
    return used;
}

void* GuestMemory::host_address(uint64_t gpa, uint64_t len) const {
    const Span* span = find(gpa);
    if (span == nullptr) {
        return nullptr;
    }
    const uint64_t offset = gpa - span->begin;
    return len <= span->size - offset ? span->host + offset : nullptr;
}

std::optional<uint64_t> GuestMemory::gpa_of(const void* host, uint64_t len) const {
    const auto p = reinterpret_cast<uintptr_t>(host);
    // Used only while logging for migration; host ranges of regions never overlap (each is
    // its own mapping), so the first hit is the one.
    for (const Span& span : spans_) {
        const auto begin = reinterpret_cast<uintptr_t>(span.host);
        if (p >= begin && p - begin < span.size) {
            const uint64_t offset = p - begin;
            if (len > span.size - offset) {
                return std::nullopt;
            }
            return span.begin + offset;
        }
    }
    return std::nullopt;
}

void* GuestMemory::host_address_from_user(uint64_t uva, uint64_t len) const {
    for (const auto& region : regions_) {
        if (uva >= region->uva_begin() && uva - region->uva_begin() < region->size()) {
            const uint64_t offset = uva - region->uva_begin();
            return len <= region->size() - offset ? region->host() + offset : nullptr;
        }
    }
    return nullptr;
}

bool GuestMemory::faulted() const noexcept {
    return std::any_of(regions_.begin(), regions_.end(),
                       [](const RegionPtr& r) { return r->faulted(); });
}

bool GuestMemory::sealed() const {
    return std::all_of(regions_.begin(), regions_.end(),
                       [](const RegionPtr& r) { return r->sealed(); });
}

}  // namespace vhostd::guest_memory

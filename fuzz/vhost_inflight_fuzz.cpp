// Fuzzes the inflight-region validator and recovery (what a restarted device reads back from a
// region the frontend handed over): a queue slice of the split or packed layout with every
// byte from the input, and the ring state recovery consults (split: used->idx; packed: the
// descriptor ring). Checks: no crash or out-of-bounds access (ASan); an accepted slice yields
// a consistent recovery (resubmitted heads/IDs unique and in range, the avail position exactly
// the in-flight count past the used one); and the recovered slice then works: recording,
// completing and re-attaching give back exactly what is still in flight.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/log.hpp"
#include "fuzz_check.hpp"
#include "virtio/inflight_packed.hpp"
#include "virtio/inflight_region.hpp"
#include "virtio/inflight_split.hpp"

namespace {

using namespace vhostd;
using namespace vhostd::virtio;

constexpr size_t kRegionBytes = 2048;  // the largest slice: packed, 32 entries

void fuzz_split(uint16_t n, uint16_t used_idx, uint8_t* region_bytes) {
    auto region = InflightRegion::borrow(InflightLayout::split, region_bytes, 1, n);
    if (!region) {
        return;  // header refused
    }
    const InflightSlot slot{std::move(*region), 0};
    auto t = SplitInflight::attach(slot, n, used_idx, used_idx);
    if (!t) {
        return;
    }
    const auto resubmit = (*t)->resubmit();
    std::vector<uint8_t> seen(n, 0);
    for (uint16_t head : resubmit) {
        FUZZ_CHECK(head < n);
        FUZZ_CHECK(seen[head] == 0);
        seen[head] = 1;
    }
    FUZZ_CHECK(static_cast<uint16_t>((*t)->last_avail_idx() - used_idx) == resubmit.size());
    // Complete the first resubmitted head, record a new one, and attach again: the slice must
    // still hold up and name exactly the heads left in flight.
    uint16_t used = used_idx;
    std::vector<uint16_t> left(resubmit.begin(), resubmit.end());
    if (!left.empty()) {
        (*t)->used(left.front());
        (*t)->published(++used);
        left.erase(left.begin());
    }
    for (uint16_t h = 0; h < n; ++h) {
        if (std::find(left.begin(), left.end(), h) == left.end()) {
            // Refused only when the slice's counters are at their limit.
            if ((*t)->mark(h)) {
                left.push_back(h);
            }
            break;
        }
    }
    t->reset();
    auto again = SplitInflight::attach(slot, n, used, used);
    FUZZ_CHECK(again.has_value());
    const auto r = (*again)->resubmit();
    FUZZ_CHECK(std::vector<uint16_t>(r.begin(), r.end()) == left);
}

void fuzz_packed(uint16_t n, uint8_t* region_bytes, const PackedDesc* ring) {
    auto region = InflightRegion::borrow(InflightLayout::packed, region_bytes, 1, n);
    if (!region) {
        return;
    }
    const InflightSlot slot{std::move(*region), 0};
    auto t = PackedInflight::attach(slot, n, ring, PackedBase{});
    if (!t) {
        return;
    }
    const PackedBase base = (*t)->base();
    FUZZ_CHECK(base.avail.index < n && base.used.index < n);
    uint32_t slots = 0;
    std::vector<uint8_t> seen(n, 0);
    std::vector<uint16_t> left;
    for (const auto& r : (*t)->resubmit()) {
        FUZZ_CHECK(r.id < n);
        FUZZ_CHECK(seen[r.id] == 0);
        seen[r.id] = 1;
        FUZZ_CHECK(r.num >= 1 && r.first + r.num <= (*t)->resubmit_descs().size());
        slots += r.num;
        left.push_back(r.id);
    }
    FUZZ_CHECK(slots <= n);
    FUZZ_CHECK(base.used.advanced(slots, n) == base.avail);
    // Complete the first, record a one-descriptor buffer under a free ID, attach again.
    PackedPosition used = base.used;
    if (!left.empty()) {
        const auto& first = (*t)->resubmit().front();
        (*t)->used(first.id);
        used = used.advanced(first.num, n);
        (*t)->before_publish(used);
        (*t)->published(used);
        left.erase(left.begin());
    }
    for (uint16_t id = 0; id < n; ++id) {
        if (std::find(left.begin(), left.end(), id) == left.end()) {
            const PackedDesc d{0x1000, 512, id, desc_flags::kWrite};
            if ((*t)->mark(id, std::span(&d, 1))) {
                left.push_back(id);
            }
            break;
        }
    }
    t->reset();
    // Nothing was published in the ring: recovery takes the slice's word for the used side.
    auto again = PackedInflight::attach(slot, n, ring, PackedBase{});
    FUZZ_CHECK(again.has_value());
    std::vector<uint16_t> ids;
    for (const auto& r : (*again)->resubmit()) {
        ids.push_back(r.id);
    }
    FUZZ_CHECK(ids == left);
    FUZZ_CHECK((*again)->base().used == used);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool quiet = [] {
        log::set_level(log::Level::off);
        return true;
    }();
    (void)quiet;
    if (size < 4) {
        return 0;
    }
    // Byte 0: layout and queue size (1..32); bytes 1-2: split used->idx; byte 3: how much of
    // the packed ring the input fills. Then the slice, then the ring.
    const bool packed = (data[0] & 0x80) != 0;
    const auto n = static_cast<uint16_t>(1 + (data[0] & 0x1f));
    const auto used_idx = static_cast<uint16_t>(data[1] | data[2] << 8);
    alignas(64) static std::array<uint8_t, kRegionBytes> region;
    region.fill(0);
    const size_t slice =
        InflightRegion::queue_bytes(packed ? InflightLayout::packed : InflightLayout::split, n);
    const size_t from_input = std::min(size - 4, slice);
    std::memcpy(region.data(), data + 4, from_input);
    if (!packed) {
        fuzz_split(n, used_idx, region.data());
        return 0;
    }
    std::array<PackedDesc, 32> ring{};
    const size_t ring_bytes = std::min(size - 4 - from_input, size_t{data[3]} * sizeof(PackedDesc));
    std::memcpy(ring.data(), data + 4 + from_input, std::min(ring_bytes, sizeof(ring)));
    fuzz_packed(n, region.data(), ring.data());
    return 0;
}

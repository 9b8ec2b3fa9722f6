// FakeDriver: test-side split ring driver over borrowed memory.
#include "virtio/testing/fake_driver.hpp"

#include <cstring>
#include <stdexcept>

namespace vhostd::virtio::testing {

FakeDriver::FakeDriver(uint16_t queue_size, size_t ram_bytes, size_t split_at)
    : size_(queue_size), ram_(ram_bytes) {
    using guest_memory::MappedRegion;
    std::vector<guest_memory::GuestMemory::RegionPtr> regions;
    if (split_at == 0) {
        regions.push_back(MappedRegion::borrow(ram_.data(), {kRamBase, ram_bytes, kRamBase, 0}));
    } else {
        regions.push_back(MappedRegion::borrow(ram_.data(), {kRamBase, split_at, kRamBase, 0}));
        regions.push_back(MappedRegion::borrow(
            ram_.data() + split_at,
            {kRamBase + split_at, ram_bytes - split_at, kRamBase + split_at + 0x10000000, 0}));
    }
    memory_ = guest_memory::GuestMemory::create(std::move(regions)).value();
    desc_gpa_ = alloc(desc_table_bytes(size_), kDescAlign);
    avail_gpa_ = alloc(avail_ring_bytes(size_), kAvailAlign);
    used_gpa_ = alloc(used_ring_bytes(size_), kUsedAlign);
}

SplitRing FakeDriver::ring() {
    return SplitRing{host(desc_gpa_), host(avail_gpa_), host(used_gpa_), size_};
}

uint64_t FakeDriver::alloc(size_t bytes, size_t align) {
    next_free_ = (next_free_ + align - 1) / align * align;
    const uint64_t gpa = next_free_;
    next_free_ += bytes;
    if (next_free_ > kRamBase + ram_.size()) {
        throw std::runtime_error("FakeDriver out of guest RAM");
    }
    return gpa;
}

uint8_t* FakeDriver::host(uint64_t gpa) {
    return ram_.data() + (gpa - kRamBase);
}
void FakeDriver::write(uint64_t gpa, const void* data, size_t len) {
    std::memcpy(host(gpa), data, len);
}
void FakeDriver::read(uint64_t gpa, void* data, size_t len) {
    std::memcpy(data, host(gpa), len);
}

void FakeDriver::set_desc(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags,
                          uint16_t next) {
    const VringDesc d{addr, len, flags, next};
    write(desc_gpa_ + 16 * uint64_t{index}, &d, sizeof(d));
}

void FakeDriver::set_indirect_desc(uint64_t table_gpa, uint16_t index, uint64_t addr, uint32_t len,
                                   uint16_t flags, uint16_t next) {
    const VringDesc d{addr, len, flags, next};
    write(table_gpa + 16 * uint64_t{index}, &d, sizeof(d));
}

uint16_t FakeDriver::submit(const std::vector<Segment>& segments, bool indirect) {
    const uint16_t head = next_desc_;
    auto flags_of = [&](size_t i) {
        uint16_t f = segments[i].writable ? desc_flags::kWrite : 0;
        return static_cast<uint16_t>(f | (i + 1 < segments.size() ? desc_flags::kNext : 0));
    };
    if (indirect) {
        const uint64_t table = alloc(16 * segments.size());
        for (size_t i = 0; i < segments.size(); ++i) {
            set_indirect_desc(table, static_cast<uint16_t>(i), segments[i].gpa, segments[i].len,
                              flags_of(i), static_cast<uint16_t>(i + 1));
        }
        set_desc(head, table, static_cast<uint32_t>(16 * segments.size()), desc_flags::kIndirect,
                 0);
        next_desc_ = static_cast<uint16_t>((next_desc_ + 1) % size_);
    } else {
        for (size_t i = 0; i < segments.size(); ++i) {
            const uint16_t index = next_desc_;
            next_desc_ = static_cast<uint16_t>((next_desc_ + 1) % size_);
            set_desc(index, segments[i].gpa, segments[i].len, flags_of(i), next_desc_);
        }
    }
    push_avail(head);
    return head;
}

void FakeDriver::push_avail(uint16_t head) {
    write(avail_gpa_ + 4 + 2 * uint64_t{static_cast<uint16_t>(avail_idx_ % size_)}, &head, 2);
    set_avail_idx(static_cast<uint16_t>(avail_idx_ + 1));
}

void FakeDriver::set_avail_idx(uint16_t idx) {
    avail_idx_ = idx;
    write(avail_gpa_ + 2, &idx, 2);
}

void FakeDriver::set_avail_flags(uint16_t flags) {
    write(avail_gpa_, &flags, 2);
}
void FakeDriver::set_used_event(uint16_t event) {
    write(avail_gpa_ + 4 + 2 * uint64_t{size_}, &event, 2);
}

uint16_t FakeDriver::used_idx() {
    uint16_t v;
    read(used_gpa_ + 2, &v, 2);
    return v;
}

uint16_t FakeDriver::used_flags() {
    uint16_t v;
    read(used_gpa_, &v, 2);
    return v;
}

uint16_t FakeDriver::avail_event() {
    uint16_t v;
    read(used_gpa_ + 4 + 8 * uint64_t{size_}, &v, 2);
    return v;
}

VringUsedElem FakeDriver::used_elem(uint16_t slot) {
    VringUsedElem e;
    read(used_gpa_ + 4 + 8 * uint64_t{static_cast<uint16_t>(slot % size_)}, &e, sizeof(e));
    return e;
}

std::optional<VringUsedElem> FakeDriver::pop_used() {
    if (last_used_ == used_idx()) {
        return std::nullopt;
    }
    return used_elem(last_used_++);
}

}  // namespace vhostd::virtio::testing

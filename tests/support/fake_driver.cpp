// FakeDriver: the frontend's DriverQueue over GuestRam, seen by the device as GuestMemory.
#include "support/fake_driver.hpp"

#include <cstring>
#include <stdexcept>

namespace vhostd::virtio::testing {
namespace {

frontend::GuestRam make_ram(size_t ram_bytes, size_t split_at) {
    frontend::GuestRam::Options options;
    if (split_at == 0) {
        options.regions = {{FakeDriver::kRamBase, ram_bytes}};
    } else {
        options.regions = {{FakeDriver::kRamBase, split_at},
                           {FakeDriver::kRamBase + split_at, ram_bytes - split_at}};
    }
    auto ram = frontend::GuestRam::create(options);
    if (!ram) {
        throw std::runtime_error("FakeDriver: " + ram.error().describe());
    }
    return std::move(*ram);
}

guest_memory::GuestMemory::Ptr device_view(const frontend::GuestRam& ram) {
    std::vector<guest_memory::GuestMemory::RegionPtr> regions;
    for (const auto& r : ram.regions()) {
        regions.push_back(guest_memory::MappedRegion::borrow(
            r.host, {r.gpa, r.size, reinterpret_cast<uint64_t>(r.host), 0}));
    }
    return guest_memory::GuestMemory::create(std::move(regions)).value();
}

frontend::DriverQueue make_queue(frontend::GuestRam& ram, uint16_t size) {
    auto queue = frontend::DriverQueue::create(ram, {.size = size});
    if (!queue) {
        throw std::runtime_error("FakeDriver: " + queue.error().describe());
    }
    return std::move(*queue);
}

}  // namespace

FakeDriver::FakeDriver(uint16_t queue_size, size_t ram_bytes, size_t split_at)
    : size_(queue_size),
      ram_(make_ram(ram_bytes, split_at)),
      queue_(make_queue(ram_, queue_size)),
      memory_(device_view(ram_)) {}

SplitRing FakeDriver::ring() {
    return SplitRing{host(queue_.desc_gpa()), host(queue_.avail_gpa()), host(queue_.used_gpa()),
                     size_};
}

uint64_t FakeDriver::alloc(size_t bytes, size_t align) {
    auto buffer = ram_.alloc(bytes, align);
    if (!buffer) {
        throw std::runtime_error("FakeDriver out of guest RAM");
    }
    return buffer->gpa;
}

uint8_t* FakeDriver::host(uint64_t gpa) {
    return ram_.host(gpa);
}
void FakeDriver::write(uint64_t gpa, const void* data, size_t len) {
    std::memcpy(host(gpa), data, len);
}
void FakeDriver::read(uint64_t gpa, void* data, size_t len) {
    std::memcpy(data, host(gpa), len);
}

void FakeDriver::set_desc(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags,
                          uint16_t next) {
    queue_.write_desc(index, VringDesc{addr, len, flags, next});
}

void FakeDriver::set_indirect_desc(uint64_t table_gpa, uint16_t index, uint64_t addr, uint32_t len,
                                   uint16_t flags, uint16_t next) {
    const VringDesc d{addr, len, flags, next};
    write(table_gpa + 16 * uint64_t{index}, &d, sizeof(d));
}

uint16_t FakeDriver::submit(const std::vector<Segment>& segments, bool indirect) {
    // Raw descriptors in round-robin order (not DriverQueue's free list): tests mix these
    // chains with hand-written hostile ones on the same table.
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
    queue_.push_avail_raw(head);
    (void)queue_.publish();
}

void FakeDriver::set_avail_idx(uint16_t idx) {
    queue_.set_avail_idx(idx);
}

void FakeDriver::set_avail_flags(uint16_t flags) {
    queue_.set_avail_flags(flags);
}
void FakeDriver::set_used_event(uint16_t event) {
    queue_.set_used_event(event);
}

uint16_t FakeDriver::used_idx() {
    return queue_.used_idx();
}
uint16_t FakeDriver::used_flags() {
    return queue_.used_flags();
}
uint16_t FakeDriver::avail_event() {
    return queue_.avail_event();
}
VringUsedElem FakeDriver::used_elem(uint16_t slot) {
    return queue_.used_elem(slot);
}

std::optional<VringUsedElem> FakeDriver::pop_used() {
    if (last_used_ == used_idx()) {
        return std::nullopt;
    }
    return used_elem(last_used_++);
}

}  // namespace vhostd::virtio::testing

// Test helper: device side of a split ring and a toy virtio-blk device over it.
#include "frontend/fake_device.hpp"

#include <atomic>
#include <cstring>

#include "base/event_fd.hpp"
#include "frontend/blk_protocol.hpp"
#include "spec/virtio.hpp"

namespace vhostd::frontend::testing {

namespace {

uint16_t load16(uint8_t* p) {
    return std::atomic_ref(*reinterpret_cast<uint16_t*>(p)).load(std::memory_order_acquire);
}
void store16(uint8_t* p, uint16_t v) {
    std::atomic_ref(*reinterpret_cast<uint16_t*>(p)).store(v, std::memory_order_release);
}

}  // namespace

FakeDevice::FakeDevice(const GuestRam& ram, const DriverQueue& queue)
    : ram_(&ram),
      call_fd_(queue.call_fd()),
      size_(queue.size()),
      event_idx_(queue.event_idx()),
      desc_(ram.host(queue.desc_gpa(), virtio::desc_table_bytes(queue.size()))),
      avail_(ram.host(queue.avail_gpa(), virtio::avail_ring_bytes(queue.size()))),
      used_(ram.host(queue.used_gpa(), virtio::used_ring_bytes(queue.size()))) {}

std::vector<FakeChain> FakeDevice::pop_all() {
    std::vector<FakeChain> chains;
    const uint16_t avail_idx = load16(avail_ + 2);
    while (last_avail_ != avail_idx) {
        FakeChain chain;
        chain.head = load16(avail_ + 4 + 2 * (last_avail_ % size_));
        ++last_avail_;
        virtio::VringDesc d;
        std::memcpy(&d, desc_ + 16 * chain.head, sizeof(d));
        const uint8_t* table = desc_;
        uint16_t limit = size_;
        if ((d.flags & virtio::desc_flags::kIndirect) != 0) {
            chain.indirect = true;
            table = ram_->host(d.addr, d.len);
            limit = static_cast<uint16_t>(d.len / 16);
            std::memcpy(&d, table, sizeof(d));
        }
        for (uint16_t n = 0; n < limit; ++n) {  // bounded: a loop cannot hang the test
            chain.segments.push_back({d.addr, d.len, (d.flags & virtio::desc_flags::kWrite) != 0});
            if ((d.flags & virtio::desc_flags::kNext) == 0) {
                break;
            }
            std::memcpy(&d, table + 16 * d.next, sizeof(d));
        }
        chains.push_back(std::move(chain));
    }
    if (event_idx_) {
        set_avail_event(last_avail_);
    }
    return chains;
}

void FakeDevice::push_used(uint16_t head, uint32_t len) {
    const virtio::VringUsedElem elem{head, len};
    std::memcpy(used_ + 4 + 8 * (used_idx_ % size_), &elem, sizeof(elem));
    ++used_idx_;
}

bool FakeDevice::publish_used() {
    const uint16_t old_idx = published_used_;
    store16(used_ + 2, used_idx_);
    published_used_ = used_idx_;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    bool notify;
    if (event_idx_) {
        notify = virtio::need_event(load16(avail_ + 4 + 2 * size_), used_idx_, old_idx);
    } else {
        notify = (load16(avail_) & virtio::kAvailFlagNoInterrupt) == 0;
    }
    if (notify && old_idx != used_idx_) {
        signal_event_fd(call_fd_);
        return true;
    }
    return false;
}

void FakeDevice::set_no_notify(bool on) {
    store16(used_, on ? virtio::kUsedFlagNoNotify : 0);
}

void FakeDevice::set_avail_event(uint16_t value) {
    store16(used_ + 4 + 8 * size_, value);
}

size_t FakeBlkDevice::process() {
    const auto chains = device_.pop_all();
    for (const FakeChain& chain : chains) {
        const auto& segs = chain.segments;
        blk::RequestHeader header{};
        std::memcpy(&header, device_.host(segs.front().gpa, sizeof(header)), sizeof(header));
        last_type = header.type;
        uint8_t status = blk::status::kOk;
        uint32_t written = 0;
        uint64_t offset = header.sector * blk::kSectorSize;
        for (size_t i = 1; i + 1 < segs.size(); ++i) {
            uint8_t* data = device_.host(segs[i].gpa, segs[i].len);
            switch (static_cast<blk::RequestType>(header.type)) {
                case blk::RequestType::in:
                    std::memcpy(data, disk_.data() + offset, segs[i].len);
                    offset += segs[i].len;
                    written += segs[i].len;
                    break;
                case blk::RequestType::out:
                    std::memcpy(disk_.data() + offset, data, segs[i].len);
                    offset += segs[i].len;
                    break;
                case blk::RequestType::get_id:
                    std::memset(data, 0, segs[i].len);
                    std::memcpy(data, serial.data(), std::min<size_t>(serial.size(), segs[i].len));
                    written += segs[i].len;
                    break;
                case blk::RequestType::discard:
                case blk::RequestType::write_zeroes: {
                    blk::DiscardWriteZeroesSegment s;
                    std::memcpy(&s, data, sizeof(s));
                    std::memset(disk_.data() + s.sector * blk::kSectorSize, 0,
                                uint64_t{s.num_sectors} * blk::kSectorSize);
                    break;
                }
                default:
                    status = blk::status::kUnsupp;
                    break;
            }
        }
        if (header.type == static_cast<uint32_t>(blk::RequestType::flush)) {
            ++flushes;
        } else if (header.type != 0 && header.type != 1 && header.type != 8 && header.type != 11 &&
                   header.type != 13) {
            status = blk::status::kUnsupp;
        }
        *device_.host(segs.back().gpa, 1) = status;
        device_.push_used(chain.head, written + 1);
    }
    device_.publish_used();
    return chains.size();
}

}  // namespace vhostd::frontend::testing

// FakeNvmeDriver: guest RAM, register access, queues, doorbells with the EventIdx rule.
#include "support/nvme_driver.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include <sys/mman.h>
#include <unistd.h>

#include "base/event_fd.hpp"
#include "spec/pci.hpp"

namespace vhostd::nvme::testing {

using namespace nvme_spec;

GuestRam::GuestRam(size_t bytes)
    : data_(static_cast<uint8_t*>(std::aligned_alloc(4096, bytes))), size_(bytes) {
    std::memset(data_, 0, bytes);
    memory_ = guest_memory::GuestMemory::create(
                  {guest_memory::MappedRegion::borrow(data_, {kBase, bytes, kBase, 0})})
                  .value();
}

GuestRam::~GuestRam() {
    memory_.reset();
    std::free(data_);
}

uint64_t GuestRam::alloc(size_t bytes, size_t align) {
    next_ = (next_ + align - 1) / align * align;
    const uint64_t gpa = kBase + next_;
    next_ += bytes;
    if (next_ > size_) {
        std::abort();  // the test asked for more RAM than it made
    }
    std::memset(host(gpa), 0, bytes);
    return gpa;
}

FakeNvmeDriver::FakeNvmeDriver(pci::Function& function, GuestRam& ram, std::function<void()> pump)
    : function_(function), ram_(ram), pump_(std::move(pump)), queues_(256) {
    const pci::RegionInfo bar0 = function_.region_info(pci::kBar0);
    for (const pci::MmapArea& area : bar0.mmap_areas) {
        if (area.offset == reg::kDoorbells && bar0.fd >= 0) {
            void* map = ::mmap(nullptr, area.size, PROT_READ | PROT_WRITE, MAP_SHARED, bar0.fd,
                               static_cast<off_t>(bar0.fd_offset + area.offset));
            if (map != MAP_FAILED) {
                mapped_doorbells_ = static_cast<uint32_t*>(map);
            }
        }
    }
}

FakeNvmeDriver::~FakeNvmeDriver() {
    if (mapped_doorbells_ != nullptr) {
        ::munmap(mapped_doorbells_, 4096);
    }
}

uint32_t FakeNvmeDriver::read32(uint64_t offset) {
    uint32_t value = 0;
    (void)function_.read(pci::kBar0, offset, {reinterpret_cast<uint8_t*>(&value), 4});
    return value;
}

uint64_t FakeNvmeDriver::read64(uint64_t offset) {
    uint64_t value = 0;
    (void)function_.read(pci::kBar0, offset, {reinterpret_cast<uint8_t*>(&value), 8});
    return value;
}

void FakeNvmeDriver::write32(uint64_t offset, uint32_t value) {
    (void)function_.write(pci::kBar0, offset, {reinterpret_cast<const uint8_t*>(&value), 4});
}

void FakeNvmeDriver::write64(uint64_t offset, uint64_t value) {
    (void)function_.write(pci::kBar0, offset, {reinterpret_cast<const uint8_t*>(&value), 8});
}

bool FakeNvmeDriver::wait_for(const std::function<bool()>& done, int iterations) {
    for (int i = 0; i < iterations; ++i) {
        if (done()) {
            return true;
        }
        pump_();
    }
    return done();
}

void FakeNvmeDriver::map_memory() {
    bool applied = false;
    function_.set_memory(ram_.memory(), [&] { applied = true; });
    wait_for([&] { return applied; });
}

bool FakeNvmeDriver::enable(uint32_t admin_entries) {
    DriverQueue& q = queues_[0];
    q = DriverQueue{.qid = 0, .entries = admin_entries};
    q.sq = ram_.alloc(admin_entries * kSqEntrySize);
    q.cq = ram_.alloc(admin_entries * kCqEntrySize);
    write32(reg::kAqa, (admin_entries - 1) | ((admin_entries - 1) << aqa::kAcqsShift));
    write64(reg::kAsq, q.sq);
    write64(reg::kAcq, q.cq);
    write32(reg::kCc,
            cc::kEnable | (kSqesLog2 << cc::kIosqesShift) | (kCqesLog2 << cc::kIocqesShift));
    wait_for([&] { return (read32(reg::kCsts) & (csts::kReady | csts::kFatal)) != 0; });
    return (read32(reg::kCsts) & (csts::kReady | csts::kFatal)) == csts::kReady;
}

bool FakeNvmeDriver::disable() {
    write32(reg::kCc, read32(reg::kCc) & ~cc::kEnable);
    const bool ok = wait_for([&] { return read32(reg::kCsts) == 0; });
    shadow_doorbells_ = 0;
    event_idx_ = 0;
    for (DriverQueue& q : queues_) {
        q = DriverQueue{};
    }
    return ok;
}

void FakeNvmeDriver::ring(uint32_t index, uint32_t value) {
    ++doorbell_writes;
    if (mapped_doorbells_ != nullptr && !force_trapped) {
        std::atomic_ref<uint32_t>(mapped_doorbells_[index]).store(value, std::memory_order_release);
        return;
    }
    write32(reg::kDoorbells + uint64_t{index} * kDoorbellSize, value);
}

uint32_t* FakeNvmeDriver::shadow_slot(uint32_t index) const {
    return reinterpret_cast<uint32_t*>(ram_.host(shadow_doorbells_)) + index;
}

uint32_t* FakeNvmeDriver::event_idx_slot(uint32_t index) const {
    return reinterpret_cast<uint32_t*>(ram_.host(event_idx_)) + index;
}

void FakeNvmeDriver::ring_updated(uint32_t index, uint32_t value) {
    if (shadow_doorbells_ != 0 && index >= 2) {
        // As Linux's nvme_dbbuf_update_and_check_event: store the shadow value, full
        // barrier, read the EventIdx, ring only if it lies in [old, new).
        uint32_t* slot = shadow_slot(index);
        const uint32_t old = std::atomic_ref<uint32_t>(*slot).load(std::memory_order_relaxed);
        std::atomic_ref<uint32_t>(*slot).store(value, std::memory_order_release);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        const uint32_t event =
            std::atomic_ref<uint32_t>(*event_idx_slot(index)).load(std::memory_order_acquire);
        if (!doorbell_event_needed(static_cast<uint16_t>(event), static_cast<uint16_t>(value),
                                   static_cast<uint16_t>(old))) {
            ++doorbell_writes_skipped;
            return;
        }
    }
    ring(index, value);
}

uint16_t FakeNvmeDriver::submit(DriverQueue& q, Command command) {
    if (command.cid == 0) {
        command.cid = next_cid_++;
        if (next_cid_ == 0xffff) {
            next_cid_ = 1;
        }
    }
    std::memcpy(ram_.host(q.sq + uint64_t{q.tail} * kSqEntrySize), &command, sizeof(command));
    q.tail = (q.tail + 1) % q.entries;
    ++q.submitted;
    ring_updated(sq_doorbell_index(q.qid), q.tail);
    return command.cid;
}

std::optional<Completion> FakeNvmeDriver::poll(DriverQueue& q, bool ring_head) {
    uint8_t* entry = ram_.host(q.cq + uint64_t{q.head} * kCqEntrySize);
    // The dword with the phase tag is read as the controller writes it: atomically, and first.
    const uint32_t last = std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(entry + 12))
                              .load(std::memory_order_acquire);
    const auto status = static_cast<uint16_t>(last >> 16);
    if (((status & 1) != 0) != q.phase) {
        return std::nullopt;
    }
    Completion c;
    std::memcpy(&c, entry, 12);
    c.cid = static_cast<uint16_t>(last);
    c.status = status;
    q.head = (q.head + 1) % q.entries;
    if (q.head == 0) {
        q.phase = !q.phase;
    }
    if (ring_head) {
        ring_updated(cq_doorbell_index(q.qid), q.head);
    }
    return c;
}

std::optional<Completion> FakeNvmeDriver::wait_completion(DriverQueue& q, uint16_t cid) {
    for (auto it = backlog.begin(); it != backlog.end(); ++it) {
        if (it->cid == cid && it->sq_id == q.qid) {
            Completion c = *it;
            backlog.erase(it);
            return c;
        }
    }
    std::optional<Completion> found;
    wait_for([&] {
        while (auto c = poll(q)) {
            if (c->cid == cid) {
                found = c;
                return true;
            }
            backlog.push_back(*c);
        }
        return false;
    });
    return found;
}

std::optional<Completion> FakeNvmeDriver::run(DriverQueue& q, Command command) {
    const uint16_t cid = submit(q, command);
    return wait_completion(q, cid);
}

bool FakeNvmeDriver::create_io_queues(uint16_t qid, uint32_t entries, uint16_t vector,
                                      bool interrupts) {
    DriverQueue& q = queues_[qid];
    q = DriverQueue{.qid = qid, .entries = entries};
    q.sq = ram_.alloc(entries * kSqEntrySize);
    q.cq = ram_.alloc(entries * kCqEntrySize);
    Command cq{};
    cq.opcode = admin_opcode::kCreateIoCq;
    cq.dptr1 = q.cq;
    cq.cdw10 = qid | ((entries - 1) << 16);
    cq.cdw11 = 1 | (interrupts ? 2 : 0) | (uint32_t{vector} << 16);
    auto c = run_admin(cq);
    if (!c || (c->status >> 1) != 0) {
        return false;
    }
    Command sq{};
    sq.opcode = admin_opcode::kCreateIoSq;
    sq.dptr1 = q.sq;
    sq.cdw10 = qid | ((entries - 1) << 16);
    sq.cdw11 = 1 | (uint32_t{qid} << 16);
    c = run_admin(sq);
    return c && (c->status >> 1) == 0;
}

bool FakeNvmeDriver::enable_shadow_doorbells() {
    const uint64_t doorbells = ram_.alloc(4096);
    const uint64_t event_idx = ram_.alloc(4096);
    Command c{};
    c.opcode = admin_opcode::kDoorbellBufferConfig;
    c.dptr1 = doorbells;
    c.dptr2 = event_idx;
    auto done = run_admin(c);
    if (!done || (done->status >> 1) != 0) {
        return false;
    }
    shadow_doorbells_ = doorbells;
    event_idx_ = event_idx;
    return true;
}

std::vector<UniqueFd> FakeNvmeDriver::enable_msix(uint16_t count) {
    std::vector<UniqueFd> mine;
    pci::IrqSet set{.index = pci::kMsix,
                    .start = 0,
                    .count = count,
                    .action = pci::IrqAction::trigger,
                    .data = pci::IrqData::eventfd};
    for (uint16_t i = 0; i < count; ++i) {
        mine.push_back(make_event_fd().value());
        set.fds.push_back(UniqueFd(::dup(mine.back().get())));
    }
    (void)function_.set_irqs(std::move(set));
    // Find the MSI-X capability, enable it, unmask every entry.
    std::vector<uint8_t> config(256);
    (void)function_.read(pci::kConfig, 0, config);
    uint32_t at = config[pci_spec::reg::kCapabilities];
    while (at != 0 && config[at] != pci_spec::cap_id::kMsix) {
        at = config[at + 1];
    }
    const uint16_t control = pci_spec::msix::kEnable;
    (void)function_.write(pci::kConfig, at + pci_spec::msix::kControl,
                          {reinterpret_cast<const uint8_t*>(&control), 2});
    const uint32_t unmasked = 0;
    for (uint16_t v = 0; v < count; ++v) {
        (void)function_.write(4, uint64_t{v} * 16 + 12,
                              {reinterpret_cast<const uint8_t*>(&unmasked), 4});
    }
    return mine;
}

Command FakeNvmeDriver::identify(uint8_t cns_value, uint32_t nsid, uint64_t buffer, uint8_t csi) {
    Command c{};
    c.opcode = admin_opcode::kIdentify;
    c.nsid = nsid;
    c.dptr1 = buffer;
    c.cdw10 = cns_value;
    c.cdw11 = uint32_t{csi} << 24;
    return c;
}

Command FakeNvmeDriver::get_log_page(uint8_t lid, uint32_t dwords, uint64_t buffer, uint64_t offset,
                                     bool rae) {
    Command c{};
    c.opcode = admin_opcode::kGetLogPage;
    c.nsid = kNsidBroadcast;
    c.dptr1 = buffer;
    c.dptr2 = buffer + 4096;  // second page when the transfer needs one
    const uint32_t numd = dwords - 1;
    c.cdw10 = lid | (rae ? kLogRae : 0) | ((numd & 0xffff) << 16);
    c.cdw11 = numd >> 16;
    c.cdw12 = static_cast<uint32_t>(offset);
    c.cdw13 = static_cast<uint32_t>(offset >> 32);
    return c;
}

Command FakeNvmeDriver::set_features(uint8_t fid, uint32_t cdw11) {
    Command c{};
    c.opcode = admin_opcode::kSetFeatures;
    c.cdw10 = fid;
    c.cdw11 = cdw11;
    return c;
}

Command FakeNvmeDriver::get_features(uint8_t fid, uint32_t sel, uint32_t cdw11) {
    Command c{};
    c.opcode = admin_opcode::kGetFeatures;
    c.cdw10 = fid | (sel << kSelShift);
    c.cdw11 = cdw11;
    return c;
}

Command FakeNvmeDriver::read_write(bool write, uint32_t nsid, uint64_t slba, uint32_t blocks,
                                   uint64_t prp1, uint64_t prp2) {
    Command c{};
    c.opcode = write ? io_opcode::kWrite : io_opcode::kRead;
    c.nsid = nsid;
    c.dptr1 = prp1;
    c.dptr2 = prp2;
    c.cdw10 = static_cast<uint32_t>(slba);
    c.cdw11 = static_cast<uint32_t>(slba >> 32);
    c.cdw12 = blocks - 1;
    return c;
}

}  // namespace vhostd::nvme::testing

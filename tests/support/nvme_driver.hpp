// FakeNvmeDriver: a minimal NVMe driver for device tests (tests only). It owns guest RAM (a
// host buffer registered as one guest memory region), lays out admin and I/O queues there,
// programs the controller through the pci::Function interface (register reads and writes,
// SET_IRQS with eventfds), rings doorbells as a client would in either mode (a store into the
// mapped doorbell page, or a region write), follows the shadow doorbell / EventIdx rules as
// Linux's driver does, and polls completion queues. Nothing in it is clever: every command is
// built by hand so tests can also build broken ones.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/unique_fd.hpp"
#include "guest_memory/guest_memory.hpp"
#include "pci/function.hpp"
#include "spec/nvme.hpp"

namespace vhostd::nvme::testing {

// Guest RAM at guest-physical kBase, with a bump allocator.
class GuestRam {
  public:
    static constexpr uint64_t kBase = 0x100000;

    explicit GuestRam(size_t bytes);
    ~GuestRam();
    GuestRam(const GuestRam&) = delete;
    GuestRam& operator=(const GuestRam&) = delete;

    [[nodiscard]] guest_memory::GuestMemory::Ptr memory() const { return memory_; }
    // `bytes` zeroed, aligned to `align`; the guest address.
    uint64_t alloc(size_t bytes, size_t align = 4096);
    [[nodiscard]] uint8_t* host(uint64_t gpa) const { return data_ + (gpa - kBase); }
    [[nodiscard]] size_t size() const { return size_; }
    [[nodiscard]] uint64_t end() const { return kBase + size_; }
    // Allocation marks: rewind() frees everything allocated after `used()` returned `mark`.
    [[nodiscard]] size_t used() const { return next_; }
    void rewind(size_t mark) { next_ = mark; }

  private:
    uint8_t* data_;
    size_t size_;
    size_t next_ = 0;
    guest_memory::GuestMemory::Ptr memory_;
};

struct DriverQueue {
    uint16_t qid = 0;
    uint32_t entries = 0;
    uint64_t sq = 0;  // guest addresses
    uint64_t cq = 0;
    uint32_t tail = 0;  // SQ tail the driver wrote
    uint32_t head = 0;  // CQ head
    bool phase = true;
    uint32_t submitted = 0;
};

class FakeNvmeDriver {
  public:
    // `pump` runs the reactors (one iteration each) while the driver waits for something.
    FakeNvmeDriver(pci::Function& function, GuestRam& ram, std::function<void()> pump);
    ~FakeNvmeDriver();

    // --- registers ---
    uint32_t read32(uint64_t offset);
    uint64_t read64(uint64_t offset);
    void write32(uint64_t offset, uint32_t value);
    void write64(uint64_t offset, uint64_t value);
    // Runs `pump` until `done` holds; false after many iterations (a generous bound).
    bool wait_for(const std::function<bool()>& done, int iterations = 200000);

    // Hands the RAM to the controller (set_memory) and waits for it to be applied.
    void map_memory();
    // AQA/ASQ/ACQ, CC with 64/16-byte entries, EN; waits for CSTS.RDY. False on CFS/timeout.
    bool enable(uint32_t admin_entries = 16);
    // CC.EN = 0, waits for CSTS.RDY = 0.
    bool disable();

    // --- commands ---
    [[nodiscard]] DriverQueue& admin() { return queues_[0]; }
    // Writes `command` (CID filled in) at the queue's tail and rings the tail doorbell.
    uint16_t submit(DriverQueue& queue, nvme_spec::Command command);
    // The next completion if one is posted (phase matches); consumes it and rings the head.
    std::optional<nvme_spec::Completion> poll(DriverQueue& queue, bool ring_head = true);
    // Submits and waits for the completion of that CID.
    std::optional<nvme_spec::Completion> run(DriverQueue& queue, nvme_spec::Command command);
    std::optional<nvme_spec::Completion> run_admin(nvme_spec::Command command) {
        return run(admin(), command);
    }
    // Waits for a completion with `cid` (others seen meanwhile are kept for later).
    std::optional<nvme_spec::Completion> wait_completion(DriverQueue& queue, uint16_t cid);
    // Completions consumed while waiting for another CID.
    std::vector<nvme_spec::Completion> backlog;

    // Set Features Number of Queues, Create I/O CQ then SQ with id `qid`; false on error.
    bool create_io_queues(uint16_t qid, uint32_t entries, uint16_t vector, bool interrupts = true);
    [[nodiscard]] DriverQueue& queue(uint16_t qid) { return queues_.at(qid); }
    // Doorbell Buffer Config with fresh pages; false on error.
    bool enable_shadow_doorbells();
    [[nodiscard]] bool shadow() const { return shadow_doorbells_ != 0; }
    [[nodiscard]] uint32_t* shadow_slot(uint32_t index) const;
    [[nodiscard]] uint32_t* event_idx_slot(uint32_t index) const;

    // Sets an eventfd for MSI-X vectors [0, count) and enables MSI-X with every vector
    // unmasked; returns the eventfds (the test reads them).
    std::vector<UniqueFd> enable_msix(uint16_t count);

    // Real doorbell writes (to the page or as region writes) and the ones shadow doorbells
    // made unnecessary.
    uint64_t doorbell_writes = 0;
    uint64_t doorbell_writes_skipped = 0;
    // Ring doorbells as region writes even if the page is mappable.
    bool force_trapped = false;

    // Raw doorbell write (no shadow logic): the page if mapped, else a region write.
    void ring(uint32_t doorbell_index, uint32_t value);

    // Builders.
    static nvme_spec::Command identify(uint8_t cns, uint32_t nsid, uint64_t buffer,
                                       uint8_t csi = 0);
    static nvme_spec::Command get_log_page(uint8_t lid, uint32_t dwords, uint64_t buffer,
                                           uint64_t offset = 0, bool rae = false);
    static nvme_spec::Command set_features(uint8_t fid, uint32_t cdw11);
    static nvme_spec::Command get_features(uint8_t fid, uint32_t sel = 0, uint32_t cdw11 = 0);
    static nvme_spec::Command read_write(bool write, uint32_t nsid, uint64_t slba, uint32_t blocks,
                                         uint64_t prp1, uint64_t prp2 = 0);

  private:
    void ring_updated(uint32_t doorbell_index, uint32_t value);

    pci::Function& function_;
    GuestRam& ram_;
    std::function<void()> pump_;
    std::vector<DriverQueue> queues_;
    uint32_t* mapped_doorbells_ = nullptr;  // the mapped page, if the region offers one
    uint64_t shadow_doorbells_ = 0;
    uint64_t event_idx_ = 0;
    uint16_t next_cid_ = 1;
};

}  // namespace vhostd::nvme::testing

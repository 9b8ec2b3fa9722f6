// NvmeQueuePair: one submission queue and its completion queue in guest RAM, as the driver
// sees them. Commands get a free CID (the index of a preallocated slot holding the caller's
// tag and a page for PRP lists or Dataset Management ranges), are written at the SQ tail and
// published by kick(); poll() consumes completions by phase tag and rings the CQ head once per
// batch. Strict: a completion for another queue, a CID not in flight or an SQ head outside the
// queue breaks the pair (EPROTO) rather than being trusted. One owner thread; nothing
// allocates after create().
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/error.hpp"
#include "frontend/guest_ram.hpp"
#include "frontend/nvme_doorbells.hpp"
#include "frontend/nvme_prp.hpp"
#include "spec/nvme.hpp"

namespace vhostd::frontend {

struct NvmeCompletion {
    uint64_t tag = 0;
    uint16_t status = 0;  // the status field (CQE bits 31:17): SC bits 7:0, SCT bits 10:8, ...
    uint32_t dw0 = 0;

    [[nodiscard]] bool ok() const { return (status & 0x7ff) == 0; }  // SCT and SC zero
};

// The completion queue head with its phase tag (4.6: the controller inverts the phase each
// time it wraps, so an entry is new when its phase matches ours).
struct CqCursor {
    uint32_t head = 0;
    uint32_t entries = 0;
    bool phase = true;

    [[nodiscard]] bool is_new(uint16_t status_word) const {
        return ((status_word & 1) != 0) == phase;
    }
    void advance() noexcept {
        if (++head == entries) {
            head = 0;
            phase = !phase;
        }
    }
};

class NvmeQueuePair {
  public:
    struct Stats {
        uint64_t submitted = 0;
        uint64_t completed = 0;
        uint64_t sq_doorbells = 0;  // real SQ tail doorbell writes (messages in trapped mode)
        uint64_t cq_doorbells = 0;  // real CQ head doorbell writes
        uint64_t sq_doorbells_skipped = 0;  // shadow updates the EventIdx did not ask for
        uint64_t cq_doorbells_skipped = 0;
    };

    // `entries` in [2, 65536]: at most entries - 1 commands in flight (4.1.1: full at
    // tail + 1 == head). `page_size` is CC.MPS's.
    static Result<NvmeQueuePair> create(GuestRam& ram, uint16_t qid, uint32_t entries,
                                        NvmeDoorbells& doorbells, uint32_t page_size);

    [[nodiscard]] uint16_t qid() const { return qid_; }
    [[nodiscard]] uint32_t entries() const { return entries_; }
    [[nodiscard]] uint64_t sq_gpa() const { return sq_.gpa; }
    [[nodiscard]] uint64_t cq_gpa() const { return cq_.gpa; }

    // --- submission: false if no slot is free, the data cannot be described or the pair is
    // broken. Nothing is visible to the controller before kick().
    // `command` as given (data pointers included); the CID is ours.
    bool submit(uint64_t tag, nvme_spec::Command command) noexcept;
    // Read or Write of `blocks` logical blocks at `slba` into/from [gpa, gpa + bytes).
    bool submit_rw(uint64_t tag, bool write, uint32_t nsid, uint64_t slba, uint32_t blocks,
                   uint64_t gpa, uint64_t bytes) noexcept;
    bool submit_flush(uint64_t tag, uint32_t nsid) noexcept;
    bool submit_write_zeroes(uint64_t tag, uint32_t nsid, uint64_t slba, uint32_t blocks,
                             bool deallocate) noexcept;
    // Dataset Management with the Deallocate attribute; the ranges are copied to the slot.
    bool submit_deallocate(uint64_t tag, uint32_t nsid,
                           std::span<const nvme_spec::DsmRange> ranges) noexcept;
    // Rings the SQ tail doorbell (or updates its shadow) if anything was submitted.
    void kick() noexcept;

    // Consumes up to out.size() completions. EPROTO if the controller wrote an entry that
    // breaks the protocol, EPIPE if a doorbell could not be sent; the pair stays broken.
    Result<size_t> poll(std::span<NvmeCompletion> out) noexcept;
    // Whether the entry at the CQ head is new (without consuming it).
    [[nodiscard]] bool completion_pending() const noexcept;

    // After a controller reset: queues zeroed, every slot free, heads and phases initial.
    void reset() noexcept;

    [[nodiscard]] uint32_t in_flight() const {
        return static_cast<uint32_t>(slots_.size() - free_.size());
    }
    [[nodiscard]] uint32_t free_slots() const { return static_cast<uint32_t>(free_.size()); }
    [[nodiscard]] const Stats& stats() const { return stats_; }
    [[nodiscard]] bool broken() const { return broken_; }

  private:
    struct Slot {
        uint64_t tag = 0;
        bool busy = false;
        PrpListPage page;  // PRP list or DSM ranges
    };

    NvmeQueuePair(uint16_t qid, uint32_t entries, NvmeDoorbells& doorbells, uint32_t page_size)
        : qid_(qid), entries_(entries), doorbells_(&doorbells), page_size_(page_size) {}
    void count(NvmeDoorbells::Outcome outcome, uint64_t& written, uint64_t& skipped) noexcept;

    uint16_t qid_;
    uint32_t entries_;
    NvmeDoorbells* doorbells_;
    uint32_t page_size_;
    GuestBuffer sq_;
    GuestBuffer cq_;
    uint32_t sq_tail_ = 0;
    uint32_t unpublished_ = 0;
    CqCursor cq_cursor_;
    std::vector<Slot> slots_;     // by CID
    std::vector<uint16_t> free_;  // free CIDs
    Stats stats_;
    bool broken_ = false;
};

}  // namespace vhostd::frontend

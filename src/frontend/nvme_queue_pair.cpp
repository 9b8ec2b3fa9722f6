// NvmeQueuePair: SQ entries, CIDs, PRPs and phase-tagged completions.
#include "frontend/nvme_queue_pair.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace vhostd::frontend {

using namespace nvme_spec;

Result<NvmeQueuePair> NvmeQueuePair::create(GuestRam& ram, uint16_t qid, uint32_t entries,
                                            NvmeDoorbells& doorbells, uint32_t page_size) {
    if (entries < kMinQueueEntries || entries > 65536 || page_size < 4096 ||
        (page_size & (page_size - 1)) != 0) {
        return make_error(EINVAL, "queue {}: {} entries with {}-byte pages", qid, entries,
                          page_size);
    }
    NvmeQueuePair q(qid, entries, doorbells, page_size);
    // 4.1.3: queues physically contiguous and page aligned (CREATE with PC = 1).
    q.sq_ = VHOSTD_TRY(ram.alloc(uint64_t{entries} * kSqEntrySize, page_size));
    q.cq_ = VHOSTD_TRY(ram.alloc(uint64_t{entries} * kCqEntrySize, page_size));
    const uint32_t depth = entries - 1;
    q.slots_.resize(depth);
    q.free_.reserve(depth);
    for (uint32_t cid = depth; cid-- > 0;) {
        const GuestBuffer page = VHOSTD_TRY(ram.alloc(page_size, page_size));
        q.slots_[cid].page = PrpListPage{reinterpret_cast<uint64_t*>(page.host), page.gpa};
        q.free_.push_back(static_cast<uint16_t>(cid));
    }
    q.reset();
    return q;
}

void NvmeQueuePair::reset() noexcept {
    std::memset(sq_.host, 0, sq_.size);
    std::memset(cq_.host, 0, cq_.size);
    sq_tail_ = 0;
    unpublished_ = 0;
    cq_cursor_ = CqCursor{.head = 0, .entries = entries_, .phase = true};
    free_.clear();
    for (uint32_t cid = static_cast<uint32_t>(slots_.size()); cid-- > 0;) {
        slots_[cid].busy = false;
        free_.push_back(static_cast<uint16_t>(cid));
    }
    broken_ = false;
}

bool NvmeQueuePair::submit(uint64_t tag, Command command) noexcept {
    if (free_.empty() || broken_) {
        return false;
    }
    const uint16_t cid = free_.back();
    free_.pop_back();
    Slot& slot = slots_[cid];
    slot.tag = tag;
    slot.busy = true;
    command.cid = cid;
    std::memcpy(sq_.host + uint64_t{sq_tail_} * kSqEntrySize, &command, sizeof(command));
    sq_tail_ = sq_tail_ + 1 == entries_ ? 0 : sq_tail_ + 1;
    ++unpublished_;
    ++stats_.submitted;
    return true;
}

bool NvmeQueuePair::submit_rw(uint64_t tag, bool write, uint32_t nsid, uint64_t slba,
                              uint32_t blocks, uint64_t gpa, uint64_t bytes) noexcept {
    // NLB is 0's based and 16 bits wide.
    if (free_.empty() || blocks == 0 || blocks > kNlbMask + 1) {
        return false;
    }
    auto prps = build_prps(gpa, bytes, page_size_, slots_[free_.back()].page);
    if (!prps) {
        return false;
    }
    Command c{};
    c.opcode = write ? io_opcode::kWrite : io_opcode::kRead;
    c.nsid = nsid;
    c.dptr1 = prps->prp1;
    c.dptr2 = prps->prp2;
    c.cdw10 = static_cast<uint32_t>(slba);
    c.cdw11 = static_cast<uint32_t>(slba >> 32);
    c.cdw12 = blocks - 1;
    return submit(tag, c);
}

bool NvmeQueuePair::submit_flush(uint64_t tag, uint32_t nsid) noexcept {
    Command c{};
    c.opcode = io_opcode::kFlush;
    c.nsid = nsid;
    return submit(tag, c);
}

bool NvmeQueuePair::submit_write_zeroes(uint64_t tag, uint32_t nsid, uint64_t slba, uint32_t blocks,
                                        bool deallocate) noexcept {
    if (blocks == 0 || blocks > kNlbMask + 1) {
        return false;
    }
    Command c{};
    c.opcode = io_opcode::kWriteZeroes;
    c.nsid = nsid;
    c.cdw10 = static_cast<uint32_t>(slba);
    c.cdw11 = static_cast<uint32_t>(slba >> 32);
    c.cdw12 = (blocks - 1) | (deallocate ? kWriteZeroesDeallocate : 0);
    return submit(tag, c);
}

bool NvmeQueuePair::submit_deallocate(uint64_t tag, uint32_t nsid,
                                      std::span<const DsmRange> ranges) noexcept {
    const uint64_t bytes = ranges.size() * sizeof(DsmRange);
    if (free_.empty() || ranges.empty() || ranges.size() > kDsmMaxRanges || bytes > page_size_) {
        return false;
    }
    const PrpListPage& page = slots_[free_.back()].page;
    std::memcpy(page.host, ranges.data(), bytes);
    Command c{};
    c.opcode = io_opcode::kDatasetManagement;
    c.nsid = nsid;
    c.dptr1 = page.gpa;
    c.cdw10 = static_cast<uint32_t>(ranges.size() - 1);  // NR, 0's based
    c.cdw11 = kDsmDeallocate;
    return submit(tag, c);
}

void NvmeQueuePair::count(NvmeDoorbells::Outcome outcome, uint64_t& written,
                          uint64_t& skipped) noexcept {
    switch (outcome) {
        case NvmeDoorbells::Outcome::written:
            ++written;
            break;
        case NvmeDoorbells::Outcome::skipped:
            ++skipped;
            break;
        case NvmeDoorbells::Outcome::failed:
            broken_ = true;
            break;
    }
}

void NvmeQueuePair::kick() noexcept {
    if (unpublished_ == 0 || broken_) {
        return;
    }
    unpublished_ = 0;
    // The entries are written before the tail that announces them (release in update()).
    count(doorbells_->update(sq_doorbell_index(qid_), sq_tail_), stats_.sq_doorbells,
          stats_.sq_doorbells_skipped);
}

bool NvmeQueuePair::completion_pending() const noexcept {
    const uint8_t* entry = cq_.host + uint64_t{cq_cursor_.head} * kCqEntrySize;
    const uint32_t last =
        std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(const_cast<uint8_t*>(entry) + 12))
            .load(std::memory_order_acquire);
    return cq_cursor_.is_new(static_cast<uint16_t>(last >> 16));
}

Result<size_t> NvmeQueuePair::poll(std::span<NvmeCompletion> out) noexcept {
    if (broken_) {
        return make_error(EPIPE, "queue {} is broken", qid_);
    }
    size_t n = 0;
    // Bounded by out.size() and by the queue: at most one lap per call.
    const size_t limit = std::min<size_t>(out.size(), entries_);
    while (n < limit) {
        uint8_t* entry = cq_.host + uint64_t{cq_cursor_.head} * kCqEntrySize;
        // The dword with the phase tag is read first, atomically, as the controller writes it
        // last; the rest of the entry is then stable.
        const uint32_t last = std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(entry + 12))
                                  .load(std::memory_order_acquire);
        const auto status_word = static_cast<uint16_t>(last >> 16);
        if (!cq_cursor_.is_new(status_word)) {
            break;
        }
        Completion c;
        std::memcpy(&c, entry, 12);
        c.cid = static_cast<uint16_t>(last);
        // 4.6: SQ identifier and SQ head pointer; the CID must be one we have in flight.
        if (c.sq_id != qid_ || c.sq_head >= entries_ || c.cid >= slots_.size() ||
            !slots_[c.cid].busy) {
            broken_ = true;
            return make_error(EPROTO,
                              "queue {}: completion with sqid {} cid {} sq head {} at CQ head {}",
                              qid_, c.sq_id, c.cid, c.sq_head, cq_cursor_.head);
        }
        Slot& slot = slots_[c.cid];
        slot.busy = false;
        out[n++] = NvmeCompletion{
            .tag = slot.tag, .status = static_cast<uint16_t>(status_word >> 1), .dw0 = c.dw0};
        free_.push_back(c.cid);
        cq_cursor_.advance();
    }
    if (n != 0) {
        stats_.completed += n;
        count(doorbells_->update(cq_doorbell_index(qid_), cq_cursor_.head), stats_.cq_doorbells,
              stats_.cq_doorbells_skipped);
        if (broken_) {
            return make_error(EPIPE, "queue {}: the CQ head doorbell could not be sent", qid_);
        }
    }
    return n;
}

}  // namespace vhostd::frontend

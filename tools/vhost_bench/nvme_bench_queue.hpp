// NvmeBenchQueue: an NVMe I/O queue pair seen through the calls QueueJob and PollThread make
// on a virtio-blk BlkQueue (sector-addressed reads and writes of one data segment, kick, poll
// into BlkCompletions, interrupt hooks), so one benchmark loop drives both kinds of
// controller. Sectors are 512 bytes as in virtio-blk; they become the namespace's LBAs here.
// Inline, so the per-I/O calls stay direct.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "frontend/blk_protocol.hpp"
#include "frontend/blk_queue.hpp"
#include "frontend/nvme_queue_pair.hpp"

namespace vhostd::bench {

class NvmeBenchQueue {
  public:
    struct Stats {
        uint64_t kicks = 0;             // real SQ tail doorbell writes
        uint64_t kicks_suppressed = 0;  // SQ tail updates the EventIdx did not ask for
    };

    // `block_shift`: log2 of the namespace's LBA size (at least 9). `interrupt_fd`: the queue's
    // MSI-X eventfd, or -1 when its CQ was created without interrupts.
    NvmeBenchQueue(frontend::NvmeQueuePair& pair, uint32_t nsid, uint32_t block_shift,
                   int interrupt_fd)
        : pair_(pair),
          nsid_(nsid),
          sector_shift_(block_shift - 9),
          block_shift_(block_shift),
          interrupt_fd_(interrupt_fd),
          batch_(pair.entries()) {}

    bool submit_read(uint64_t tag, uint64_t sector,
                     std::span<const frontend::DataSegment> data) noexcept {
        return submit(tag, false, sector, data);
    }
    bool submit_write(uint64_t tag, uint64_t sector,
                      std::span<const frontend::DataSegment> data) noexcept {
        return submit(tag, true, sector, data);
    }
    void kick() noexcept { pair_.kick(); }

    // Only a broken pair's error (a string) could allocate; terminating the benchmark then is
    // what noexcept means here.
    // NOLINTNEXTLINE(bugprone-exception-escape)
    Result<size_t> poll(std::span<frontend::BlkCompletion> out) noexcept {
        const size_t n =
            VHOSTD_TRY(pair_.poll(std::span(batch_).first(std::min(out.size(), batch_.size()))));
        for (size_t i = 0; i < n; ++i) {
            out[i] =
                frontend::BlkCompletion{.tag = batch_[i].tag,
                                        .status = batch_[i].ok() ? frontend::blk::status::kOk
                                                                 : frontend::blk::status::kIoErr,
                                        .len = 0};
        }
        return n;
    }

    // --- the interrupt hooks PollThread uses (--interrupts) ---
    NvmeBenchQueue& ring() { return *this; }
    // NVMe has no "interrupts off" request: the CQ was created with or without them.
    void disable_interrupts() noexcept {}
    // True if a completion is already pending (no need to sleep).
    bool enable_interrupts() noexcept { return pair_.completion_pending(); }
    [[nodiscard]] int call_fd() const { return interrupt_fd_; }

    [[nodiscard]] Stats stats() const {
        return Stats{.kicks = pair_.stats().sq_doorbells,
                     .kicks_suppressed = pair_.stats().sq_doorbells_skipped};
    }
    [[nodiscard]] frontend::NvmeQueuePair& pair() { return pair_; }

  private:
    bool submit(uint64_t tag, bool write, uint64_t sector,
                std::span<const frontend::DataSegment> data) noexcept {
        if (data.size() != 1) {
            return false;
        }
        const uint64_t lba = sector >> sector_shift_;
        const uint32_t blocks = data[0].len >> block_shift_;
        return pair_.submit_rw(tag, write, nsid_, lba, blocks, data[0].gpa, data[0].len);
    }

    frontend::NvmeQueuePair& pair_;
    uint32_t nsid_;
    uint32_t sector_shift_;
    uint32_t block_shift_;
    int interrupt_fd_;
    std::vector<frontend::NvmeCompletion> batch_;
};

}  // namespace vhostd::bench

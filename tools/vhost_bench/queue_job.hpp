// QueueJob: the I/O loop state of one queue (a virtqueue, or an NVMe queue pair through
// NvmeBenchQueue): its preallocated I/O slots (one data buffer each, in guest RAM), the op
// generator, rate pacer, verify state and counters. Driven by one polling thread; nothing here
// allocates after init(). A template on the queue type, so each transport's calls are direct.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "base/error.hpp"
#include "frontend/blk_queue.hpp"
#include "frontend/guest_ram.hpp"
#include "histogram.hpp"
#include "nvme_bench_queue.hpp"
#include "options.hpp"
#include "verify.hpp"
#include "workload.hpp"

namespace vhostd::bench {

struct JobCounters {
    uint64_t reads = 0;
    uint64_t writes = 0;
    uint64_t bytes = 0;
    uint64_t errors = 0;           // completions with a status other than OK
    uint64_t verify_errors = 0;    // reads whose data failed the check
    uint64_t verified_blocks = 0;  // reads whose data was checked (and passed or failed)
    uint64_t readback = 0;         // reads of the final verify pass (not in reads/IOPS)
    uint64_t lost = 0;             // still in flight when the drain timed out
};

template <class Queue>
class QueueJob {
  public:
    struct Setup {
        uint16_t index = 0;
        Slice slice;
        uint64_t first_lba = 0;       // sector of unit 0
        uint64_t quota = UINT64_MAX;  // I/Os this queue submits (--number-ios share)
        uint64_t rate = 0;            // this queue's IOPS cap
        uint32_t generation = 0;      // verify: this run's generation
    };

    QueueJob(Queue& queue, const BenchOptions& options, const Setup& setup);
    // Allocates the data buffers from guest RAM (before the threads start).
    Result<void> init(frontend::GuestRam& ram);

    // Starts as many I/Os as depth, rate and quota allow, then publishes them with one kick.
    unsigned submit(uint64_t now_ns) noexcept;
    // Harvests completions; `now_ns` stamps their latency. EPROTO if the target broke the ring.
    Result<unsigned> reap(uint64_t now_ns, LatencyHistogram& latency) noexcept;

    // Verify: after the timed phase, reads back every block written in this run.
    void begin_readback() noexcept;
    // Readback submissions (no rate, no latency); true while blocks remain to be read.
    bool submit_readback(uint64_t now_ns) noexcept;

    [[nodiscard]] bool quota_done() const { return started_ >= setup_.quota; }
    [[nodiscard]] uint16_t in_flight() const {
        return static_cast<uint16_t>(depth_ - free_.size());
    }
    [[nodiscard]] bool wrote() const { return counters_.writes != 0; }
    void count_lost() { counters_.lost = in_flight(); }

    [[nodiscard]] const JobCounters& counters() const { return counters_; }
    [[nodiscard]] Queue& queue() { return queue_; }
    // Completed I/Os so far, readable from the progress thread.
    [[nodiscard]] uint64_t progress() const { return progress_.load(std::memory_order_relaxed); }

  private:
    struct Slot {
        frontend::GuestBuffer buffer;
        uint64_t unit = 0;
        uint64_t submit_ns = 0;
        uint32_t version = 0;  // verify: what this write stamps
        bool write = false;
        bool readback = false;
    };

    bool start(uint16_t slot_index, uint64_t unit, bool write, uint64_t now_ns) noexcept;
    // Verify mode: a unit with no I/O in flight, or false after a bounded search.
    bool pick_free_unit(OpGenerator::Op& op) noexcept;
    void complete(Slot& slot, uint8_t status) noexcept;

    Queue& queue_;
    const BenchOptions& options_;
    Setup setup_;
    OpGenerator generator_;
    RatePacer pacer_;
    VerifyMap verify_;
    uint16_t depth_;
    uint32_t sectors_per_unit_;
    std::vector<Slot> slots_;
    std::vector<uint16_t> free_;
    std::vector<frontend::BlkCompletion> completions_;
    uint64_t started_ = 0;
    uint64_t readback_cursor_ = 0;
    JobCounters counters_;
    std::atomic<uint64_t> progress_{0};
};

extern template class QueueJob<frontend::BlkQueue>;
extern template class QueueJob<NvmeBenchQueue>;

}  // namespace vhostd::bench

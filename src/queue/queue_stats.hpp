// QueueStats: the counters of one queue a queue engine serves (a virtqueue, later an NVMe
// submission queue): requests, completions, in-flight, poll loops that found work or not,
// interrupts sent or held back by coalescing. Written only by the queue's
// reactor with relaxed load + store (no lock, no locked instruction); read by any thread. The
// owner of a queue slot (the controller) keeps one per queue, so counts survive restarts.
#pragma once

#include <atomic>
#include <cstdint>

namespace vhostd::queue {

struct alignas(64) QueueStats {
    std::atomic<uint64_t> requests{0};        // taken from the avail ring
    std::atomic<uint64_t> completions{0};     // pushed to the used ring
    std::atomic<uint64_t> inflight{0};        // taken, not yet completed (a gauge)
    std::atomic<uint64_t> busy_polls{0};      // poll loops that found requests
    std::atomic<uint64_t> idle_polls{0};      // poll loops that found none
    std::atomic<uint64_t> calls{0};           // call eventfd signals (guest interrupts)
    std::atomic<uint64_t> calls_deferred{0};  // signals postponed by interrupt coalescing

    // Single writer: the owning reactor.
    static void add(std::atomic<uint64_t>& counter, uint64_t by = 1) noexcept {
        counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
    }
    static void set(std::atomic<uint64_t>& gauge, uint64_t value) noexcept {
        gauge.store(value, std::memory_order_relaxed);
    }
    static uint64_t get(const std::atomic<uint64_t>& counter) noexcept {
        return counter.load(std::memory_order_relaxed);
    }
};

// One queue's counters as read from any thread (relaxed loads: a snapshot, not a transaction),
// with where the queue runs; what controllers report to RPC and metrics.
struct QueueCounters {
    uint16_t index = 0;
    unsigned reactor = 0;  // id of the reactor serving the queue
    uint64_t requests = 0;
    uint64_t completions = 0;
    uint64_t inflight = 0;
    uint64_t busy_polls = 0;
    uint64_t idle_polls = 0;
    uint64_t calls = 0;           // interrupts sent to the guest
    uint64_t calls_deferred = 0;  // interrupts postponed by coalescing

    static QueueCounters of(const QueueStats& s, uint16_t index, unsigned reactor) {
        return {.index = index,
                .reactor = reactor,
                .requests = QueueStats::get(s.requests),
                .completions = QueueStats::get(s.completions),
                .inflight = QueueStats::get(s.inflight),
                .busy_polls = QueueStats::get(s.busy_polls),
                .idle_polls = QueueStats::get(s.idle_polls),
                .calls = QueueStats::get(s.calls),
                .calls_deferred = QueueStats::get(s.calls_deferred)};
    }
};

}  // namespace vhostd::queue

// PollThread: one OS thread (pinned to one --cpu entry) that busy-polls the completions of its
// queues and refills them; optionally sleeps on the call eventfds instead (--interrupts).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "histogram.hpp"
#include "options.hpp"
#include "queue_job.hpp"

namespace vhostd::bench {

struct ThreadResult {
    LatencyHistogram latency;
    uint64_t elapsed_ns = 0;  // from the common start to the last completion of the timed phase
    std::string failure;      // transport failure (broken ring), if any
};

template <class Queue>
class PollThread {
  public:
    PollThread(std::vector<QueueJob<Queue>*> jobs, const BenchOptions& options, int cpu)
        : jobs_(std::move(jobs)), options_(options), cpu_(cpu) {}

    // Runs the timed phase, the drain and (verify) the readback; `start_ns` is the common start
    // on the steady clock.
    void run(uint64_t start_ns) noexcept;
    // Read result() only after the thread has been joined.
    [[nodiscard]] const ThreadResult& result() const { return result_; }
    // Whether run() has returned (for the progress line, from another thread).
    [[nodiscard]] bool done() const { return done_.load(std::memory_order_acquire); }

  private:
    bool timed_phase(uint64_t start_ns) noexcept;
    void readback_phase() noexcept;
    // --interrupts: enables notifications on every queue and sleeps until one completes.
    void wait_for_completions(int timeout_ms) noexcept;
    bool reap_all(uint64_t now_ns) noexcept;

    std::vector<QueueJob<Queue>*> jobs_;
    const BenchOptions& options_;
    int cpu_;
    ThreadResult result_;
    std::atomic<bool> done_{false};
};

extern template class PollThread<frontend::BlkQueue>;
extern template class PollThread<NvmeBenchQueue>;

uint64_t now_ns() noexcept;

// Ends every thread's timed phase early (SIGINT / SIGTERM, or a target that did not come
// back): they drain, read back and report as if the time were up. Async-signal-safe.
void request_stop() noexcept;

}  // namespace vhostd::bench

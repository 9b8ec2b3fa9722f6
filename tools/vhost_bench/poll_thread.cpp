// PollThread: the client's I/O loop.
#include "poll_thread.hpp"

#include <chrono>
#include <vector>

#include <poll.h>
#include <pthread.h>
#include <sched.h>

#include "base/event_fd.hpp"

namespace vhostd::bench {

namespace {
constexpr uint64_t kNsPerSec = 1'000'000'000ULL;
constexpr uint64_t kReadbackTimeoutNs = 60 * kNsPerSec;
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);  // set from a signal handler
}  // namespace

void request_stop() noexcept {
    g_stop.store(true, std::memory_order_relaxed);
}

uint64_t now_ns() noexcept {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

template <class Queue>
bool PollThread<Queue>::reap_all(uint64_t now) noexcept {
    bool any = false;
    for (QueueJob<Queue>* job : jobs_) {
        auto n = job->reap(now, result_.latency);
        if (!n) {
            result_.failure = n.error().describe();
            return false;
        }
        any |= *n != 0;
    }
    return any;
}

template <class Queue>
void PollThread<Queue>::wait_for_completions(int timeout_ms) noexcept {
    std::vector<pollfd> fds;  // only in --interrupts mode, which is not a throughput mode
    for (QueueJob<Queue>* job : jobs_) {
        if (job->queue().ring().enable_interrupts()) {
            fds.clear();
            break;  // something completed meanwhile
        }
        fds.push_back(pollfd{job->queue().ring().call_fd(), POLLIN, 0});
    }
    if (!fds.empty() && ::poll(fds.data(), fds.size(), timeout_ms) > 0) {
        for (const pollfd& p : fds) {
            drain_event_fd(p.fd);
        }
    }
    for (QueueJob<Queue>* job : jobs_) {
        job->queue().disable_interrupts();
    }
}

template <class Queue>
bool PollThread<Queue>::timed_phase(uint64_t start) noexcept {
    const bool by_count = options_.number_ios != 0;
    const auto duration = static_cast<uint64_t>(options_.time_s * kNsPerSec);
    const auto drain_ns = static_cast<uint64_t>(options_.drain_timeout_s * kNsPerSec);
    const auto every_ns = static_cast<uint64_t>(options_.idle_every_ms * 1e6);
    const auto gap_ns = static_cast<uint64_t>(options_.idle_gap_ms * 1e6);
    uint64_t stop_submitting_at = 0;
    uint64_t last_completion = 0;
    // Times below are relative to the common start.
    for (;;) {
        uint64_t now = now_ns() - start;
        const bool reaped = reap_all(now);
        if (!result_.failure.empty()) {
            return false;
        }
        if (reaped) {
            last_completion = now;
            now = now_ns() - start;
        }
        const bool time_up =
            (!by_count && now >= duration) || g_stop.load(std::memory_order_relaxed);
        const bool in_gap = every_ns != 0 && now % every_ns >= every_ns - gap_ns;
        bool submitting = false;
        unsigned submitted = 0;
        uint32_t in_flight = 0;
        for (QueueJob<Queue>* job : jobs_) {
            if (!time_up && !job->quota_done()) {
                submitting = true;
                if (!in_gap) {
                    submitted += job->submit(now);
                }
            }
            in_flight += job->in_flight();
        }
        if (!submitting) {
            if (in_flight == 0) {
                break;
            }
            if (stop_submitting_at == 0) {
                stop_submitting_at = now;
            }
            if (now - stop_submitting_at > drain_ns) {
                for (QueueJob<Queue>* job : jobs_) {
                    job->count_lost();
                }
                break;
            }
        }
        if (options_.interrupts && !reaped && submitted == 0 && in_flight != 0) {
            wait_for_completions(1);
        }
    }
    result_.elapsed_ns = last_completion;
    return true;
}

template <class Queue>
void PollThread<Queue>::readback_phase() noexcept {
    for (QueueJob<Queue>* job : jobs_) {
        job->begin_readback();
    }
    const uint64_t deadline = now_ns() + kReadbackTimeoutNs;
    for (;;) {
        const uint64_t now = now_ns();
        reap_all(now);
        if (!result_.failure.empty()) {
            return;
        }
        bool pending = false;
        for (QueueJob<Queue>* job : jobs_) {
            pending |= job->submit_readback(now);
            pending |= job->in_flight() != 0;
        }
        if (!pending) {
            return;
        }
        if (now > deadline) {
            for (QueueJob<Queue>* job : jobs_) {
                job->count_lost();
            }
            return;
        }
    }
}

template <class Queue>
void PollThread<Queue>::run(uint64_t start_ns) noexcept {
    if (cpu_ >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu_, &set);
        pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    }
    for (QueueJob<Queue>* job : jobs_) {
        if (!options_.interrupts) {
            job->queue().disable_interrupts();  // we busy-poll the used ring
        }
    }
    if (timed_phase(start_ns)) {
        bool wrote = false;
        for (QueueJob<Queue>* job : jobs_) {
            wrote |= job->wrote();
        }
        if (options_.verify && wrote) {
            readback_phase();
        }
    }
    done_.store(true, std::memory_order_release);
}

template class PollThread<frontend::BlkQueue>;
template class PollThread<NvmeBenchQueue>;

}  // namespace vhostd::bench

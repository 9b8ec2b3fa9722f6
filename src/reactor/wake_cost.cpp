// measure_wake_cost: an eventfd ping from a helper thread to the calling thread, asleep in
// poll(), timed on both sides.
#include "reactor/wake_cost.hpp"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include <poll.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "base/event_fd.hpp"
#include "base/unique_fd.hpp"

namespace vhostd::reactor {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::nanoseconds thread_cpu_time() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// Moves the calling thread to the online cores other than `core`: a wake-up within one core
// costs less than the cross-core one a driver's kick causes. The process's own affinity (a
// taskset that gave vhostd only its reactors' cores) is deliberately ignored for these few
// milliseconds: the driver runs elsewhere too.
void pin_elsewhere(int core) {
    const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    if (core < 0 || online < 2) {
        return;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    for (long cpu = 0; cpu < online && cpu < CPU_SETSIZE; ++cpu) {
        if (cpu != core) {
            CPU_SET(static_cast<int>(cpu), &set);
        }
    }
    ::sched_setaffinity(0, sizeof(set), &set);
}

}  // namespace

WakeCost measure_wake_cost(int core, int samples) {
    auto fd = make_event_fd();
    if (!fd || samples <= 0) {
        return {};
    }
    const int event = fd->get();
    std::atomic<int64_t> sent_at{0};  // Clock ticks of the last signal, 0 while consumed
    std::atomic<bool> stop{false};
    std::thread pinger([&] {
        pin_elsewhere(core);
        for (int i = 0; i < samples && !stop.load(std::memory_order_relaxed); ++i) {
            // Long enough for the measuring thread to be asleep in poll(), not on its way.
            std::this_thread::sleep_for(std::chrono::microseconds(300));
            sent_at.store(Clock::now().time_since_epoch().count(), std::memory_order_release);
            signal_event_fd(event);
            while (sent_at.load(std::memory_order_acquire) != 0 &&
                   !stop.load(std::memory_order_relaxed)) {
                std::this_thread::yield();
            }
        }
    });
    std::vector<std::chrono::nanoseconds> latencies;
    latencies.reserve(static_cast<size_t>(samples));
    const auto cpu_before = thread_cpu_time();
    for (int i = 0; i < samples; ++i) {
        pollfd p{event, POLLIN, 0};
        if (::poll(&p, 1, 100) != 1) {
            break;  // the helper thread is not getting the CPU: keep the defaults
        }
        const auto woke = Clock::now().time_since_epoch().count();
        drain_event_fd(event);
        const int64_t sent = sent_at.exchange(0, std::memory_order_acq_rel);
        latencies.push_back(std::chrono::nanoseconds(Clock::duration(woke - sent)));
    }
    const auto cpu = thread_cpu_time() - cpu_before;
    stop.store(true, std::memory_order_relaxed);
    sent_at.store(0, std::memory_order_release);
    pinger.join();
    if (latencies.size() < static_cast<size_t>(samples)) {
        return {};
    }
    std::nth_element(latencies.begin(), latencies.begin() + samples / 2, latencies.end());
    return WakeCost{latencies[static_cast<size_t>(samples / 2)], cpu / samples};
}

}  // namespace vhostd::reactor

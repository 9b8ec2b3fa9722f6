// Reactor: one thread, one loop. It runs pollers (busy polling), dispatches epoll events for
// the fds it watches, fires timers, and runs messages posted by other threads. In adaptive mode
// it falls asleep in epoll after a stretch with no work and resumes polling when woken.
//
// Ownership rule: everything except post(), request_stop() and the read-only accessors must be
// called on the reactor's own thread (or before run() starts).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "reactor/message_queue.hpp"
#include "reactor/poller.hpp"

namespace vhostd::reactor {

enum class PollMode : uint8_t {
    always,    // never sleep: lowest latency, one core at 100%
    adaptive,  // poll while there is work; sleep in epoll after idle_threshold without any
    never,     // sleep whenever an iteration finds nothing (pure event-driven)
};
std::optional<PollMode> parse_poll_mode(std::string_view text);
std::string_view to_string(PollMode mode);

struct ReactorOptions {
    PollMode mode = PollMode::adaptive;
    std::chrono::microseconds idle_threshold{300};
    int core = -1;  // pin the loop thread to this CPU; -1 leaves it unpinned
};

using FdCallback = std::move_only_function<void(uint32_t epoll_events)>;
using TimerCallback = std::move_only_function<void()>;

// Counters written only by the owning thread, readable from any thread (relaxed).
struct ReactorStats {
    std::atomic<uint64_t> busy_iterations{0};
    std::atomic<uint64_t> idle_iterations{0};
    // Time spent in iterations that found work / none (sleeping excluded), in nanoseconds of
    // base/tsc_clock.hpp: SPDK's busy and idle, the target's CPU cost per request under load.
    std::atomic<uint64_t> busy_ns{0};
    std::atomic<uint64_t> idle_ns{0};
    std::atomic<uint64_t> sleeps{0};
    std::atomic<uint64_t> messages{0};
};

class Reactor {
  public:
    using FdId = uint64_t;
    using TimerId = uint64_t;
    // Busy iterations between looks at epoll: with a watch_fd watch, and with wake fds only. An
    // epoll_wait costs a few hundred ns here; at QD1 one every 64 iterations delayed a few
    // percent of the requests by that much (the p99).
    static constexpr uint64_t kProgressFdCheckInterval = 64;
    static constexpr uint64_t kWakeFdCheckInterval = 4096;

    static Result<std::unique_ptr<Reactor>> create(unsigned id, ReactorOptions options = {});
    ~Reactor();
    Reactor(const Reactor&) = delete;
    Reactor& operator=(const Reactor&) = delete;

    [[nodiscard]] unsigned id() const { return id_; }
    [[nodiscard]] int core() const { return options_.core; }
    [[nodiscard]] PollMode mode() const { return options_.mode; }
    [[nodiscard]] const ReactorStats& stats() const { return stats_; }
    [[nodiscard]] bool on_owner_thread() const;
    // The reactor running on the calling thread, or nullptr.
    static Reactor* current();

    // --- any thread ---
    // Runs `message` on this reactor's thread; messages from one sender run in order.
    void post(Message message);
    // run() returns once the current iteration ends.
    void request_stop();

    // --- owning thread ---
    // Called on every iteration until removed. Removal is safe from inside poll().
    void add_poller(Poller& poller);
    void remove_poller(Poller& poller);

    // Calls `callback` when epoll reports `events` on `fd` (level-triggered): for fds whose
    // callback does work nothing else polls (a socket's data), so a busy reactor looks at them
    // every kProgressFdCheckInterval iterations. The fd stays owned by the caller and must
    // outlive the watch. Unwatching from a callback is safe.
    Result<FdId> watch_fd(int fd, uint32_t events, FdCallback callback);
    // Watches an eventfd whose only job is to wake a sleeping reactor for work that is polled
    // anyway (kicks, mailboxes, io_uring completions): the reactor drains it itself, and a
    // reactor with nothing but such fds looks at epoll only every kWakeFdCheckInterval busy
    // iterations, so it spends almost no syscalls while it polls. Unwatch with unwatch_fd.
    Result<FdId> watch_wake_fd(int event_fd);
    void unwatch_fd(FdId id);

    // Calls `callback` every `period` (first time one period from now).
    TimerId add_timer(std::chrono::nanoseconds period, TimerCallback callback);
    void cancel_timer(TimerId id);

    // Runs the loop on the calling thread until request_stop(); pins it if options.core >= 0.
    // `started` is called once the reactor is set up (the adaptive mode's wake-up cost
    // measured) and about to poll: ReactorGroup::start waits for it, so that a daemon that
    // says it is ready has no start-up work left on its reactors.
    void run(std::move_only_function<void()> started = {});
    // One iteration without sleeping (tests and shutdown draining).
    void run_once();

  private:
    struct FdWatch;
    struct Timer;

    Reactor(unsigned id, ReactorOptions options, UniqueFd epoll, UniqueFd wake);
    Result<FdId> add_watch(int fd, uint32_t events, FdCallback callback, bool wake_only);
    PollResult poll_all();
    bool dispatch_fd_events(int timeout_ms);
    bool run_due_timers(std::chrono::steady_clock::time_point now);
    int ms_until_next_timer(std::chrono::steady_clock::time_point now) const;
    void sleep_until_woken(std::chrono::steady_clock::time_point now);
    void compact_pollers();

    const unsigned id_;
    const ReactorOptions options_;
    UniqueFd epoll_;
    UniqueFd wake_;  // eventfd written by post() while the loop sleeps
    MessageQueue messages_;
    std::atomic<bool> stop_requested_{false};
    std::atomic<std::thread::id> owner_{};

    std::vector<Poller*> pollers_;  // nullptr marks a removed entry until compaction
    bool pollers_dirty_ = false;
    std::unordered_map<FdId, std::unique_ptr<FdWatch>> fd_watches_;  // by id: stable under unwatch
    std::vector<std::unique_ptr<FdWatch>> retired_watches_;  // unwatched mid-dispatch; freed after
    size_t progress_watches_ = 0;                            // watches made with watch_fd
    std::vector<std::unique_ptr<Timer>> timers_;
    uint64_t next_id_ = 1;
    ReactorStats stats_;
};

// Runs `fn` on `reactor` and waits for it; for control-plane calls from a non-reactor thread
// (never from another reactor's loop, which must not block).
void run_sync(Reactor& reactor, std::move_only_function<void()> fn);

}  // namespace vhostd::reactor

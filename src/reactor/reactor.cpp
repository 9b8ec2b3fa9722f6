// Reactor loop: poll, timers, fd events, messages; adaptive sleep in epoll.
#include "reactor/reactor.hpp"

#include <algorithm>
#include <array>
#include <future>

#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>

#include "base/event_fd.hpp"
#include "base/log.hpp"
#include "base/tsc_clock.hpp"
#include "reactor/idle_policy.hpp"
#include "reactor/wake_cost.hpp"

namespace vhostd::reactor {
namespace {

thread_local Reactor* t_current = nullptr;

// While busy, epoll is looked at only every Reactor::k*FdCheckInterval iterations: fd events on
// I/O reactors are rare (messages and virtqueues are polled directly), and a syscall per
// iteration would add to every request's latency.
constexpr uint64_t kClockCheckInterval = 16;  // busy iterations between timer checks
constexpr int kMaxEpollEvents = 64;
constexpr uint64_t kWakeFdId = 0;  // epoll data for the reactor's own wake eventfd

}  // namespace

struct Reactor::FdWatch {
    int fd;
    FdCallback callback;
    bool wake_only;  // watch_wake_fd: the callback only drains it
};

struct Reactor::Timer {
    TimerId id;
    std::chrono::nanoseconds period;
    std::chrono::steady_clock::time_point next;
    TimerCallback callback;
    bool cancelled = false;
};

std::optional<PollMode> parse_poll_mode(std::string_view text) {
    if (text == "always")
        return PollMode::always;
    if (text == "adaptive")
        return PollMode::adaptive;
    if (text == "never")
        return PollMode::never;
    return std::nullopt;
}

std::string_view to_string(PollMode mode) {
    switch (mode) {
        case PollMode::always:
            return "always";
        case PollMode::adaptive:
            return "adaptive";
        case PollMode::never:
            return "never";
    }
    return "unknown";
}

Result<std::unique_ptr<Reactor>> Reactor::create(unsigned id, ReactorOptions options) {
    // The loop's clock calibrates on first use (it reads the kernel's clocksource): done here,
    // on the creating thread, not later on the loop thread behind its owner's back.
    (void)tsc::now_ns();
    UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll) {
        return errno_error("epoll_create1");
    }
    UniqueFd wake = VHOSTD_TRY(make_event_fd());
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeFdId;
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wake.get(), &ev) != 0) {
        return errno_error("epoll_ctl(wake fd)");
    }
    return std::unique_ptr<Reactor>(new Reactor(id, options, std::move(epoll), std::move(wake)));
}

Reactor::Reactor(unsigned id, ReactorOptions options, UniqueFd epoll, UniqueFd wake)
    : id_(id), options_(options), epoll_(std::move(epoll)), wake_(std::move(wake)) {}

Reactor::~Reactor() = default;

bool Reactor::on_owner_thread() const {
    const std::thread::id owner = owner_.load(std::memory_order_relaxed);
    return owner == std::thread::id{} || owner == std::this_thread::get_id();
}

Reactor* Reactor::current() {
    return t_current;
}

void Reactor::post(Message message) {
    if (messages_.push(std::move(message))) {
        signal_event_fd(wake_.get());
    }
}

void Reactor::request_stop() {
    stop_requested_.store(true, std::memory_order_release);
    signal_event_fd(wake_.get());
}

void Reactor::add_poller(Poller& poller) {
    pollers_.push_back(&poller);
}

void Reactor::remove_poller(Poller& poller) {
    auto it = std::find(pollers_.begin(), pollers_.end(), &poller);
    if (it != pollers_.end()) {
        *it = nullptr;
        pollers_dirty_ = true;
    }
}

void Reactor::compact_pollers() {
    std::erase(pollers_, nullptr);
    pollers_dirty_ = false;
}

Result<Reactor::FdId> Reactor::add_watch(int fd, uint32_t events, FdCallback callback,
                                         bool wake_only) {
    const FdId id = next_id_++;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = id;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
        return errno_error(fmt::format("epoll_ctl(ADD, fd {})", fd));
    }
    fd_watches_.emplace(id, std::make_unique<FdWatch>(FdWatch{fd, std::move(callback), wake_only}));
    if (!wake_only) {
        ++progress_watches_;
    }
    return id;
}

Result<Reactor::FdId> Reactor::watch_fd(int fd, uint32_t events, FdCallback callback) {
    return add_watch(fd, events, std::move(callback), false);
}

Result<Reactor::FdId> Reactor::watch_wake_fd(int event_fd) {
    return add_watch(
        event_fd, EPOLLIN, [event_fd](uint32_t) { drain_event_fd(event_fd); }, true);
}

void Reactor::unwatch_fd(FdId id) {
    auto it = fd_watches_.find(id);
    if (it == fd_watches_.end()) {
        return;
    }
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second->fd, nullptr);
    if (!it->second->wake_only) {
        --progress_watches_;
    }
    // The callback being dispatched may be the one unwatching itself: keep it alive until the
    // dispatch loop is done.
    retired_watches_.push_back(std::move(it->second));
    fd_watches_.erase(it);
}

Reactor::TimerId Reactor::add_timer(std::chrono::nanoseconds period, TimerCallback callback) {
    const TimerId id = next_id_++;
    timers_.push_back(std::make_unique<Timer>(
        Timer{id, period, std::chrono::steady_clock::now() + period, std::move(callback)}));
    return id;
}

void Reactor::cancel_timer(TimerId id) {
    for (auto& timer : timers_) {
        if (timer->id == id) {
            timer->cancelled = true;
        }
    }
}

PollResult Reactor::poll_all() {
    bool busy = false;
    // Index loop: pollers may be added (appended) or removed (nulled) while we iterate.
    for (size_t i = 0; i < pollers_.size(); ++i) {
        if (Poller* poller = pollers_[i]) {
            busy |= poller->poll() == PollResult::busy;
        }
    }
    if (pollers_dirty_) {
        compact_pollers();
    }
    return busy ? PollResult::busy : PollResult::idle;
}

bool Reactor::run_due_timers(std::chrono::steady_clock::time_point now) {
    bool ran = false;
    for (size_t i = 0; i < timers_.size(); ++i) {
        Timer& timer = *timers_[i];
        if (timer.cancelled || timer.next > now) {
            continue;
        }
        // Skip missed periods instead of firing a burst after a long stall.
        timer.next = std::max(timer.next + timer.period, now);
        timer.callback();
        ran = true;
    }
    std::erase_if(timers_, [](const auto& t) { return t->cancelled; });
    return ran;
}

int Reactor::ms_until_next_timer(std::chrono::steady_clock::time_point now) const {
    int best = -1;
    for (const auto& timer : timers_) {
        if (timer->cancelled) {
            continue;
        }
        const auto wait = std::chrono::ceil<std::chrono::milliseconds>(timer->next - now).count();
        const int ms = static_cast<int>(std::clamp<int64_t>(wait, 0, 60'000));
        best = best < 0 ? ms : std::min(best, ms);
    }
    return best;
}

bool Reactor::dispatch_fd_events(int timeout_ms) {
    std::array<epoll_event, kMaxEpollEvents> events{};
    const int n = ::epoll_wait(epoll_.get(), events.data(), kMaxEpollEvents, timeout_ms);
    bool any = false;
    for (int i = 0; i < n; ++i) {
        const FdId id = events[i].data.u64;
        if (id == kWakeFdId) {
            drain_event_fd(wake_.get());
            continue;
        }
        auto it = fd_watches_.find(id);
        if (it == fd_watches_.end()) {
            continue;  // unwatched by an earlier callback in this batch
        }
        it->second->callback(events[i].events);
        any = true;
    }
    retired_watches_.clear();
    return any;
}

void Reactor::sleep_until_woken(std::chrono::steady_clock::time_point now) {
    size_t armed = 0;
    bool can_sleep = !messages_.pending() && !stop_requested_.load(std::memory_order_acquire);
    for (; can_sleep && armed < pollers_.size(); ++armed) {
        if (pollers_[armed] != nullptr && !pollers_[armed]->enter_interrupt_mode()) {
            can_sleep = false;
            ++armed;  // this poller entered (and reported work); it must leave too
        }
    }
    if (can_sleep) {
        stats_.sleeps.fetch_add(1, std::memory_order_relaxed);
        dispatch_fd_events(ms_until_next_timer(now));
    }
    for (size_t i = 0; i < armed && i < pollers_.size(); ++i) {
        if (pollers_[i] != nullptr) {
            pollers_[i]->leave_interrupt_mode();
        }
    }
}

void Reactor::run_once() {
    // Restored on return: a stale pointer would make run_sync() run work inline for a later
    // reactor that happens to reuse this address.
    Reactor* const previous = std::exchange(t_current, this);
    bool busy = messages_.pending() && messages_.drain() > 0;
    busy |= poll_all() == PollResult::busy;
    busy |= run_due_timers(std::chrono::steady_clock::now());
    busy |= dispatch_fd_events(0);
    (busy ? stats_.busy_iterations : stats_.idle_iterations)
        .fetch_add(1, std::memory_order_relaxed);
    t_current = previous;
}

void Reactor::run(std::move_only_function<void()> started) {
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    t_current = this;
    if (options_.core >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(options_.core, &set);
        if (const int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set); rc != 0) {
            LOG_WARN(reactor, "reactor {}: cannot pin to core {}: error {}", id_, options_.core,
                     rc);
        }
    }
    LOG_DEBUG(reactor, "reactor {} running on core {} (poll mode {})", id_, options_.core,
              to_string(options_.mode));

    // Adaptive mode learns how long to poll an idle stretch from what a wake-up costs here
    // and how long idle stretches last (idle_policy.hpp).
    std::optional<IdlePolicy> policy;
    if (options_.mode == PollMode::adaptive) {
        const WakeCost cost = measure_wake_cost(options_.core);
        policy.emplace(IdlePolicy::Options{options_.idle_threshold, cost.latency, cost.cpu});
        LOG_INFO(reactor, "reactor {}: a wake-up costs {} ns of latency and {} ns of CPU", id_,
                 cost.latency.count(), cost.cpu.count());
    }
    if (started) {
        started();
    }

    // The clock is read only where it is needed: for due timers (every kClockCheckInterval
    // busy iterations), on idle iterations and after a sleep. A busy iteration reads none,
    // which keeps the per-request cost of the loop to the pollers themselves; the end of an
    // idle stretch is taken from its last idle iteration.
    using Clock = std::chrono::steady_clock;
    std::optional<Clock::time_point> idle_since;
    Clock::time_point idle_seen{};  // the clock at the stretch's last idle iteration (or wake)
    bool slept = false;             // the current idle stretch included a sleep
    uint64_t iteration = 0;
    uint64_t iteration_start = tsc::now_ns();
    // Adds the iteration that just ended to busy or idle time (sleep excluded).
    const auto account = [&](std::atomic<uint64_t>& counter) {
        const uint64_t now = tsc::now_ns();
        counter.store(counter.load(std::memory_order_relaxed) + (now - iteration_start),
                      std::memory_order_relaxed);
        iteration_start = now;
    };
    while (!stop_requested_.load(std::memory_order_acquire)) {
        bool busy = false;
        if (messages_.pending()) {
            const size_t ran = messages_.drain();
            stats_.messages.fetch_add(ran, std::memory_order_relaxed);
            busy = ran > 0;
        }
        busy |= poll_all() == PollResult::busy;
        ++iteration;
        if (!timers_.empty() && (!busy || iteration % kClockCheckInterval == 0)) {
            busy |= run_due_timers(Clock::now());
        }
        const uint64_t fd_check_interval =
            progress_watches_ != 0 ? kProgressFdCheckInterval : kWakeFdCheckInterval;
        if (iteration % fd_check_interval == 0) {
            busy |= dispatch_fd_events(0);
        }
        if (busy) {
            if (idle_since && policy) {
                const auto gap = idle_seen - *idle_since;
                slept ? policy->record_gap_after_sleep(gap) : policy->record_gap(gap);
            }
            idle_since.reset();
            slept = false;
            stats_.busy_iterations.fetch_add(1, std::memory_order_relaxed);
            account(stats_.busy_ns);
            continue;
        }
        stats_.idle_iterations.fetch_add(1, std::memory_order_relaxed);
        account(stats_.idle_ns);
        if (options_.mode == PollMode::always) {
            continue;
        }
        const auto now = Clock::now();
        if (!idle_since) {
            idle_since = now;
        }
        idle_seen = now;
        const auto budget = policy ? policy->spin_budget() : options_.idle_threshold;
        if (options_.mode == PollMode::never || now - *idle_since >= budget) {
            sleep_until_woken(now);
            slept = true;
            idle_seen = Clock::now();
            iteration_start = tsc::now_ns();  // the sleep is neither busy nor idle
        }
    }
    t_current = nullptr;
}

void run_sync(Reactor& reactor, std::move_only_function<void()> fn) {
    if (Reactor::current() == &reactor) {
        fn();
        return;
    }
    std::promise<void> done;
    auto future = done.get_future();
    reactor.post([&] {
        fn();
        done.set_value();
    });
    future.wait();
}

}  // namespace vhostd::reactor

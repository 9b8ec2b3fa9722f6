// StuckCallWatchdog: per-thread call announcements in a fixed table, a lazily started watchdog
// thread, and SIGURG (installed without SA_RESTART) to break a blocked call with EINTR.
#include "base/stuck_call_watchdog.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <mutex>
#include <thread>

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace vhostd {
namespace {

// Threads that make guarded calls: reactors and the control thread. More than this many run
// unguarded calls with a poll() precheck instead (racy against a hostile peer, but bounded
// by the table never filling in practice).
constexpr size_t kSlots = 256;
constexpr auto kTick = std::chrono::milliseconds(50);
constexpr int kTicksStuck = static_cast<int>(kStuckAfter / kTick);
constexpr int kSignal = SIGURG;  // ignored by default: a stray one is harmless

struct Slot {
    std::atomic<bool> used{false};
    std::atomic<pid_t> tid{0};
    // Odd while the thread is inside a guarded call; every call changes it, so the watchdog
    // can tell one long call from many short ones.
    std::atomic<uint64_t> sequence{0};
    // Set by the watchdog just before its signal: the EINTR that follows is ours, not some
    // other handler's (those calls are simply retried).
    std::atomic<bool> kicked{false};
};

std::array<Slot, kSlots> g_slots;
std::atomic<uint64_t> g_interrupted{0};
std::once_flag g_started;

void on_signal(int /*signal*/) {}  // only there to make the blocked call return EINTR

[[noreturn]] void watch() {
    std::array<uint64_t, kSlots> last{};
    std::array<int, kSlots> ticks{};
    for (;;) {
        std::this_thread::sleep_for(kTick);
        for (size_t i = 0; i < kSlots; ++i) {
            Slot& slot = g_slots[i];
            const uint64_t seq = slot.sequence.load(std::memory_order_acquire);
            if (!slot.used.load(std::memory_order_acquire) || (seq & 1) == 0 || seq != last[i]) {
                last[i] = seq;
                ticks[i] = 0;
                continue;
            }
            if (++ticks[i] >= kTicksStuck) {
                // tgkill with the kernel thread id: a thread that left and exited meanwhile
                // cannot be confused with a freed pthread_t; a recycled id gets one EINTR.
                // Counted before the signal: the interrupted thread may read the count as
                // soon as its call returns.
                g_interrupted.fetch_add(1, std::memory_order_relaxed);
                slot.kicked.store(true, std::memory_order_release);
                ::syscall(SYS_tgkill, ::getpid(), slot.tid.load(std::memory_order_relaxed),
                          kSignal);
                ticks[i] = 0;
            }
        }
    }
}

void start_watchdog() {
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: the blocked call must return
    ::sigaction(kSignal, &action, nullptr);
    std::thread(watch).detach();
}

// This thread's slot, claimed at its first guarded call and released when it exits.
class ThreadSlot {
  public:
    ThreadSlot() {
        std::call_once(g_started, start_watchdog);
        for (Slot& slot : g_slots) {
            bool expected = false;
            if (slot.used.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
                slot.tid.store(static_cast<pid_t>(::gettid()), std::memory_order_relaxed);
                slot_ = &slot;
                return;
            }
        }
    }
    ~ThreadSlot() {
        if (slot_ != nullptr) {
            slot_->used.store(false, std::memory_order_release);
        }
    }
    ThreadSlot(const ThreadSlot&) = delete;
    ThreadSlot& operator=(const ThreadSlot&) = delete;

    [[nodiscard]] Slot* slot() const { return slot_; }

  private:
    Slot* slot_ = nullptr;
};

}  // namespace

ssize_t bounded_write(int fd, const void* data, size_t length) noexcept {
    thread_local ThreadSlot self;
    Slot* slot = self.slot();
    if (slot == nullptr) [[unlikely]] {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, 0) != 1 || (p.revents & POLLOUT) == 0) {
            errno = EAGAIN;
            return -1;
        }
        return ::write(fd, data, length);
    }
    // Only this thread writes its sequence: plain stores, no read-modify-write.
    const uint64_t seq = slot->sequence.load(std::memory_order_relaxed);
    slot->sequence.store(seq + 1, std::memory_order_release);  // odd: inside
    slot->kicked.store(false, std::memory_order_relaxed);
    ssize_t n = ::write(fd, data, length);
    while (n < 0 && errno == EINTR && !slot->kicked.exchange(false, std::memory_order_acq_rel)) {
        n = ::write(fd, data, length);
    }
    const int saved = errno;
    slot->sequence.store(seq + 2, std::memory_order_release);  // even: out
    errno = saved;
    return n;
}

uint64_t stuck_calls_interrupted() noexcept {
    return g_interrupted.load(std::memory_order_relaxed);
}

}  // namespace vhostd

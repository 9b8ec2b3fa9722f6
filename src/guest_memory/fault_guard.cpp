// FaultGuard: the table of guarded ranges (lock-free, read by the signal handler) and the
// SIGBUS handler. Everything the handler does is async-signal-safe: atomic loads and stores
// and one mmap(2).
#include "guest_memory/fault_guard.hpp"

#include <array>
#include <csignal>
#include <mutex>

#include <sys/mman.h>

namespace vhostd::guest_memory {
namespace {

// Across every controller: QEMU uses a handful of regions per guest; 509 is one session's
// maximum (VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS).
constexpr size_t kMaxRanges = 8192;

enum SlotState : uint32_t { kFree = 0, kClaimed = 1, kLive = 2 };

struct Slot {
    std::atomic<uint32_t> state{kFree};
    std::atomic<uintptr_t> begin{0};
    std::atomic<uintptr_t> end{0};
    std::atomic<uintptr_t> page_size{0};
    std::atomic<bool> faulted{false};
};

std::array<Slot, kMaxRanges> g_slots;
std::atomic<uint64_t> g_epoch{0};
struct sigaction g_previous {};
std::once_flag g_installed;

void on_sigbus(int signal, siginfo_t* info, void* context) {
    const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
    for (Slot& slot : g_slots) {
        if (slot.state.load(std::memory_order_acquire) != kLive) {
            continue;
        }
        const uintptr_t begin = slot.begin.load(std::memory_order_relaxed);
        const uintptr_t end = slot.end.load(std::memory_order_relaxed);
        if (address < begin || address >= end) {
            continue;
        }
        const uintptr_t page = slot.page_size.load(std::memory_order_relaxed);
        void* at = reinterpret_cast<void*>(address & ~(page - 1));
        // The lost page becomes private zeroes: the access that faulted completes, its data
        // is garbage, and the faulted mark keeps that garbage from being acknowledged.
        if (::mmap(at, page, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1,
                   0) == MAP_FAILED) {
            break;  // cannot repair: crash below, as without the guard
        }
        slot.faulted.store(true, std::memory_order_release);
        g_epoch.fetch_add(1, std::memory_order_release);
        return;
    }
    // Not guest memory: whoever handled SIGBUS before us (a sanitizer), else the default
    // action when the faulting instruction runs again.
    if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
        g_previous.sa_sigaction(signal, info, context);
        return;
    }
    if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
        g_previous.sa_handler(signal);
        return;
    }
    ::signal(SIGBUS, SIG_DFL);
}

void install() {
    struct sigaction action {};
    action.sa_sigaction = on_sigbus;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART;
    ::sigaction(SIGBUS, &action, &g_previous);
}

}  // namespace

Result<GuardedRange> GuardedRange::add(void* begin, size_t length, size_t page_size) {
    std::call_once(g_installed, install);
    for (size_t i = 0; i < kMaxRanges; ++i) {
        Slot& slot = g_slots[i];
        uint32_t expected = kFree;
        if (!slot.state.compare_exchange_strong(expected, kClaimed, std::memory_order_acq_rel)) {
            continue;
        }
        const auto b = reinterpret_cast<uintptr_t>(begin);
        slot.begin.store(b, std::memory_order_relaxed);
        slot.end.store(b + length, std::memory_order_relaxed);
        slot.page_size.store(page_size, std::memory_order_relaxed);
        slot.faulted.store(false, std::memory_order_relaxed);
        slot.state.store(kLive, std::memory_order_release);
        return GuardedRange(static_cast<int>(i));
    }
    return make_error(ENOSPC, "more than {} guest memory regions are mapped", kMaxRanges);
}

GuardedRange& GuardedRange::operator=(GuardedRange&& other) noexcept {
    if (this != &other) {
        this->~GuardedRange();
        slot_ = other.slot_;
        other.slot_ = -1;
    }
    return *this;
}

GuardedRange::~GuardedRange() {
    if (slot_ >= 0) {
        g_slots[static_cast<size_t>(slot_)].state.store(kFree, std::memory_order_release);
        slot_ = -1;
    }
}

bool GuardedRange::faulted() const noexcept {
    return slot_ >= 0 &&
           g_slots[static_cast<size_t>(slot_)].faulted.load(std::memory_order_acquire);
}

uint64_t fault_epoch() noexcept {
    return g_epoch.load(std::memory_order_relaxed);
}

}  // namespace vhostd::guest_memory

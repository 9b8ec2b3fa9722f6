// Stores into the inflight region. A crash can stop the device between any two instructions;
// what the restarted device must find is every store made before that point and none after it,
// in program order. Each store is therefore a release store (atomic_ref): the compiler keeps
// them in order (and before the syscalls and ring writes that follow), and the CPU makes them
// visible in order. The region is a shared mapping, so stores that happened survive the
// process. Reads (attach time only) copy fields out once.
//
// Tests simulate a crash at every one of these points: an observer, when set, sees the state
// just before and just after each store (vhostd never sets one; the check is one predictable
// branch).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

namespace vhostd::virtio::inflight_store {

// Fetch counters order the requests to resubmit. They start at 0 and grow by one per request,
// so one past 2^62 was never counted to (centuries at any rate): a slice holding one is
// corrupt, and a device never records one (its next counter would not be recoverable).
inline constexpr uint64_t kMaxCounter = uint64_t{1} << 62;

class StoreObserver {
  public:
    virtual ~StoreObserver() = default;
    virtual void crash_point() noexcept = 0;
};
// Tests only, single-threaded: set while a test drives one queue.
inline StoreObserver* observer = nullptr;

template <class T>
void put(uint8_t* base, size_t offset, T value) noexcept {
    static_assert(sizeof(T) <= 8 && std::atomic_ref<T>::is_always_lock_free);
    if (observer != nullptr) [[unlikely]] {
        observer->crash_point();
    }
    std::atomic_ref<T>(*reinterpret_cast<T*>(base + offset))
        .store(value, std::memory_order_release);
    if (observer != nullptr) [[unlikely]] {
        observer->crash_point();
    }
}

template <class T>
[[nodiscard]] T get(const uint8_t* base, size_t offset) noexcept {
    T value;
    std::memcpy(&value, base + offset, sizeof(T));
    return value;
}

}  // namespace vhostd::virtio::inflight_store

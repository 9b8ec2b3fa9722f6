// MessageQueue: how other threads hand work to a reactor. Control-plane only (the I/O path
// never posts), so a short mutex-protected batch swap is enough; the owner's per-iteration
// check is a single relaxed atomic load, so an idle queue costs the loop nothing.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <vector>

namespace vhostd::reactor {

using Message = std::move_only_function<void()>;

class MessageQueue {
  public:
    // Any thread. Returns true if the queue was empty before (the caller may need to wake the
    // consumer).
    bool push(Message message);
    // Owner thread: runs every queued message; returns how many ran.
    size_t drain();
    [[nodiscard]] bool pending() const { return pending_.load(std::memory_order_acquire); }

  private:
    std::mutex mutex_;
    std::vector<Message> queue_;
    std::vector<Message> running_;  // owner-only scratch, reused to avoid reallocation
    std::atomic<bool> pending_{false};
};

}  // namespace vhostd::reactor

// MessageQueue: swap-and-run batches so the lock is held only for a vector swap.
#include "reactor/message_queue.hpp"

namespace vhostd::reactor {

bool MessageQueue::push(Message message) {
    std::lock_guard lock(mutex_);
    const bool was_empty = queue_.empty();
    queue_.push_back(std::move(message));
    pending_.store(true, std::memory_order_release);
    return was_empty;
}

size_t MessageQueue::drain() {
    {
        std::lock_guard lock(mutex_);
        running_.swap(queue_);
        pending_.store(false, std::memory_order_relaxed);
    }
    const size_t count = running_.size();
    for (auto& message : running_) {
        message();
    }
    running_.clear();
    return count;
}

}  // namespace vhostd::reactor

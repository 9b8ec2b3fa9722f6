// RunningQueue: used-ring flushes with call-eventfd signalling, breakage, interrupt mode.
#include "virtio/running_queue.hpp"

#include <chrono>

#include "base/event_fd.hpp"
#include "base/log.hpp"

namespace vhostd::virtio {

RunningQueue::RunningQueue(VirtqueueConfig config)
    : index_(config.index),
      features_(config.features),
      memory_(std::move(config.memory)),
      ring_(std::make_unique<SplitQueue>(
          config.ring, *memory_,
          SplitQueue::Options{
              .event_idx = (config.features & bit(feature::kEventIdx)) != 0,
              .indirect = (config.features & bit(feature::kIndirectDesc)) != 0,
              .last_avail_idx = config.last_avail_idx,
          })),
      kick_(std::move(config.kick)),
      call_(std::move(config.call)),
      err_(std::move(config.err)) {}

namespace {

uint64_t now_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

}  // namespace

void RunningQueue::flush_used() {
    if (ring_->publish_used() && call_) {
        signal_call();
    } else if (coalescer_.pending()) [[unlikely]] {
        signal_call_if_due();
    }
}

void RunningQueue::signal_call() {
    if (coalescer_.enabled()) [[unlikely]] {
        const uint64_t completions =
            stats_ != nullptr ? queue::QueueStats::get(stats_->completions) : 0;
        if (!coalescer_.notify(now_ns(), completions)) {
            if (stats_ != nullptr) {
                queue::QueueStats::add(stats_->calls_deferred);
            }
            return;
        }
    }
    send_call();
}

void RunningQueue::signal_call_if_due() {
    // Coalescing turned off meanwhile: what it owes goes out now.
    if (!coalescer_.enabled() || coalescer_.due(now_ns())) {
        flush_owed_call();
    }
}

void RunningQueue::flush_owed_call() {
    if (coalescer_.pending()) {
        coalescer_.clear();
        if (call_) {
            send_call();
        }
    }
}

void RunningQueue::send_call() {
    signal_event_fd(call_.get());
    if (stats_ != nullptr) {
        queue::QueueStats::add(stats_->calls);
    }
}

void RunningQueue::mark_broken(const char* reason) {
    if (!ring_->broken()) {
        ring_->mark_broken(reason);
    }
    report_if_broken();
}

void RunningQueue::report_broken() {
    reported_broken_ = true;
    LOG_RATELIMITED(virtio, err, "queue {} stopped, device needs reset: {}", index_,
                    ring_->broken_reason());
    if (err_) {
        signal_event_fd(err_.get());
    }
    if (on_broken_) {
        on_broken_();
    }
}

bool RunningQueue::enter_interrupt_mode() {
    if (kick_) {
        // Drop stale kicks first, so a kick that arrives from here on means new work.
        drain_event_fd(kick_.get());
    }
    return !ring_->enable_notifications();
}

void RunningQueue::leave_interrupt_mode() {
    ring_->disable_notifications();
}

}  // namespace vhostd::virtio

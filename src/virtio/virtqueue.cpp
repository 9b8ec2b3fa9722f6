// Virtqueue: used-ring flushes with call-eventfd signalling, breakage, interrupt mode.
#include "virtio/virtqueue.hpp"

#include "base/event_fd.hpp"
#include "base/log.hpp"

namespace vhostd::virtio {

Virtqueue::Virtqueue(VirtqueueConfig config)
    : index_(config.index),
      features_(config.features),
      memory_(std::move(config.memory)),
      ring_(config.ring, *memory_,
            SplitQueue::Options{
                .event_idx = (config.features & bit(feature::kEventIdx)) != 0,
                .indirect = (config.features & bit(feature::kIndirectDesc)) != 0,
                .last_avail_idx = config.last_avail_idx,
            }),
      kick_(std::move(config.kick)),
      call_(std::move(config.call)),
      err_(std::move(config.err)) {}

void Virtqueue::flush_used() {
    if (ring_.publish_used() && call_) {
        signal_event_fd(call_.get());
    }
}

void Virtqueue::mark_broken(const char* reason) {
    if (!ring_.broken()) {
        ring_.mark_broken(reason);
    }
    report_if_broken();
}

void Virtqueue::report_broken() {
    reported_broken_ = true;
    LOG_RATELIMITED(virtio, err, "queue {} stopped, device needs reset: {}", index_,
                    ring_.broken_reason());
    if (err_) {
        signal_event_fd(err_.get());
    }
    if (on_broken_) {
        on_broken_();
    }
}

bool Virtqueue::enter_interrupt_mode() {
    if (kick_) {
        // Drop stale kicks first, so a kick that arrives from here on means new work.
        drain_event_fd(kick_.get());
    }
    return !ring_.enable_notifications();
}

void Virtqueue::leave_interrupt_mode() {
    ring_.disable_notifications();
}

}  // namespace vhostd::virtio

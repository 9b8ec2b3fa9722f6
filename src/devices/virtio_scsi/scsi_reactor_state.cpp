// ScsiReactorState: target table and queue registry of one reactor.
#include "devices/virtio_scsi/scsi_reactor_state.hpp"

#include <algorithm>

#include "devices/virtio_scsi/scsi_event_queue.hpp"
#include "devices/virtio_scsi/scsi_request_queue.hpp"

namespace vhostd::virtio_scsi {

void ScsiReactorState::add_target(uint8_t id, const std::shared_ptr<scsi::LogicalUnit>& unit) {
    units_[id] = unit;
    for (ScsiRequestQueue* queue : queues_) {
        queue->attach_target(id, unit);
    }
}

void ScsiReactorState::remove_target(uint8_t id, const std::shared_ptr<Fanout>& done) {
    units_[id].reset();
    for (ScsiRequestQueue* queue : queues_) {
        queue->detach_target(id, done);
    }
}

void ScsiReactorState::run_tmf(const TmfOp& op, const std::shared_ptr<Fanout>& fanout) {
    for (ScsiRequestQueue* queue : queues_) {
        queue->run_tmf(op, fanout);
    }
}

void ScsiReactorState::post_event(const Event& event) {
    // Without an event queue the driver has not started yet (or is being reset); it scans
    // every target when it starts, so nothing is lost.
    if (event_queue_ != nullptr) {
        event_queue_->post(event);
    }
}

void ScsiReactorState::register_queue(ScsiRequestQueue& queue) {
    queues_.push_back(&queue);
}

void ScsiReactorState::unregister_queue(ScsiRequestQueue& queue) {
    std::erase(queues_, &queue);
}

void ScsiReactorState::unregister_event_queue(ScsiEventQueue& queue) {
    if (event_queue_ == &queue) {
        event_queue_ = nullptr;
    }
}

}  // namespace vhostd::virtio_scsi

// ScsiReactorState: what one I/O reactor knows of a virtio-scsi device: the targets as that
// reactor has been told of them, and the device's queues it runs. The control reactor changes
// targets and starts task management only by posting messages here; the queues on this
// reactor are created, registered and destroyed on its thread. So nothing is locked.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "devices/virtio_scsi/scsi_fanout.hpp"
#include "reactor/reactor.hpp"
#include "scsi/logical_unit.hpp"
#include "spec/virtio_scsi.hpp"

namespace vhostd::virtio_scsi {

class ScsiRequestQueue;
class ScsiEventQueue;

constexpr size_t kMaxTargets = size_t{kMaxTarget} + 1;

// A task management function as the control queue received it (5.6.6.2).
struct TmfOp {
    uint32_t subtype = 0;
    uint8_t target = 0;
    uint16_t lun = 0;
    uint64_t tag = 0;  // ABORT TASK: the request id to abort
};

class ScsiReactorState {
  public:
    explicit ScsiReactorState(reactor::Reactor& reactor) : reactor_(reactor) {}
    ScsiReactorState(const ScsiReactorState&) = delete;
    ScsiReactorState& operator=(const ScsiReactorState&) = delete;

    [[nodiscard]] reactor::Reactor& reactor() const { return reactor_; }

    // --- on the reactor's thread ---
    // A target (its LUN 0) becomes reachable from this reactor's request queues.
    void add_target(uint8_t id, const std::shared_ptr<scsi::LogicalUnit>& unit);
    // It becomes unreachable; `done` is dropped once every queue here has drained it.
    void remove_target(uint8_t id, const std::shared_ptr<Fanout>& done);
    // Runs `op` on every request queue here; each merges its outcome into `fanout`.
    void run_tmf(const TmfOp& op, const std::shared_ptr<Fanout>& fanout);
    // Writes `event` into a buffer of the event queue if it runs here and has one; otherwise
    // the next event carries VIRTIO_SCSI_T_EVENTS_MISSED.
    void post_event(const Event& event);

    [[nodiscard]] const std::shared_ptr<scsi::LogicalUnit>& unit(uint8_t id) const {
        return units_[id];
    }
    void register_queue(ScsiRequestQueue& queue);
    void unregister_queue(ScsiRequestQueue& queue);
    void register_event_queue(ScsiEventQueue& queue) { event_queue_ = &queue; }
    void unregister_event_queue(ScsiEventQueue& queue);

  private:
    reactor::Reactor& reactor_;
    std::array<std::shared_ptr<scsi::LogicalUnit>, kMaxTargets> units_;
    std::vector<ScsiRequestQueue*> queues_;
    ScsiEventQueue* event_queue_ = nullptr;
};

}  // namespace vhostd::virtio_scsi

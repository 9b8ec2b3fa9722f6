// ScsiRequestQueue: one virtio-scsi request queue on one reactor. Takes command requests from
// the ring in batches, parses them, executes them on the addressed target's TargetChannel and
// writes the response (status, sense, residual). One TargetChannel per present target; target
// changes and task management arrive from ScsiReactorState. Tasks and iovec arrays are
// preallocated for the whole queue size.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "devices/virtio_scsi/scsi_reactor_state.hpp"
#include "devices/virtio_scsi/scsi_request.hpp"
#include "queue/request_pool.hpp"
#include "scsi/target_channel.hpp"
#include "virtio/queue_handler.hpp"

namespace vhostd::virtio_scsi {

class ScsiDevice;

class ScsiRequestQueue final : public virtio::QueueHandler {
  public:
    // Registers with `state` and attaches every target it knows.
    ScsiRequestQueue(reactor::Reactor& reactor, virtio::RunningQueue queue,
                     const ScsiDevice& device, std::shared_ptr<ScsiReactorState> state);
    ~ScsiRequestQueue() override;

    // --- from ScsiReactorState, on this reactor ---
    void attach_target(uint8_t id, const std::shared_ptr<scsi::LogicalUnit>& unit);
    void detach_target(uint8_t id, std::shared_ptr<Fanout> done);
    void run_tmf(const TmfOp& op, const std::shared_ptr<Fanout>& fanout);

  private:
    struct Request;
    struct Detaching {
        uint64_t id = 0;
        std::unique_ptr<scsi::TargetChannel> channel;
        std::shared_ptr<Fanout> done;
    };

    [[nodiscard]] size_t free_requests() const noexcept override;
    void start_request(uint32_t head) noexcept override;
    void on_task_complete(Request& request);
    void respond(Request& request, const CmdResult& result, uint32_t data_in);
    void finish_detach(uint64_t id);

    const ScsiDevice& device_;
    std::shared_ptr<ScsiReactorState> state_;
    virtio::ChainLimits chain_limits_;
    std::vector<iovec> iov_arena_;
    queue::RequestPool<Request> requests_;
    std::array<std::unique_ptr<scsi::TargetChannel>, kMaxTargets> channels_;
    std::vector<Detaching> detaching_;
    uint64_t next_detach_id_ = 0;
    // Messages this queue posts to itself check this first: it may be gone by then.
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace vhostd::virtio_scsi

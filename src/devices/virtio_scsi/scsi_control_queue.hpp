// ScsiControlQueue: the virtio-scsi control queue (5.6.6.2). Task management functions are
// fanned out to every reactor of the device (the addressed tasks may sit on any request
// queue) and answered once each queue has finished them; asynchronous notification queries
// and subscriptions are answered at once with no event supported, as Linux expects.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "devices/virtio_scsi/scsi_reactor_state.hpp"
#include "queue/request_pool.hpp"
#include "virtio/queue_handler.hpp"

namespace vhostd::virtio_scsi {

class ScsiDevice;

class ScsiControlQueue final : public virtio::QueueHandler {
  public:
    ScsiControlQueue(reactor::Reactor& reactor, virtio::RunningQueue queue,
                     const ScsiDevice& device, std::shared_ptr<ScsiReactorState> state);
    ~ScsiControlQueue() override;

  private:
    static constexpr size_t kIovPerRequest = 16;

    struct Request {
        uint16_t head = 0;
        std::array<iovec, kIovPerRequest> iov{};
        std::span<const iovec> writable;
    };

    [[nodiscard]] size_t free_requests() const noexcept override { return requests_.available(); }
    void start_request(uint32_t head) noexcept override;
    void task_management(Request& request, const TmfRequest& tmf);
    void finish(Request& request, std::span<const uint8_t> response);

    const ScsiDevice& device_;
    std::shared_ptr<ScsiReactorState> state_;
    queue::RequestPool<Request> requests_;
};

}  // namespace vhostd::virtio_scsi

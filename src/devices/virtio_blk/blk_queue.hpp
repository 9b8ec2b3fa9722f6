// BlkQueue: one virtio-blk virtqueue on one reactor. The queue engine takes requests from the
// ring in batches; each is parsed, submitted to the bdev channel and completed with its status
// byte. Request contexts and their iovec arrays are preallocated for the whole queue size. The
// bdev channel opens asynchronously: until it is there no request is taken (they wait in the
// ring); if it cannot be opened, every request fails with IOERR.
#pragma once

#include <memory>
#include <vector>

#include "block/bdev.hpp"
#include "devices/virtio_blk/blk_device.hpp"
#include "queue/request_pool.hpp"
#include "virtio/queue_handler.hpp"

namespace vhostd::virtio_blk {

class BlkQueue final : public virtio::QueueHandler {
  public:
    // Starts opening the bdev's channel on `reactor` (call on its thread).
    BlkQueue(reactor::Reactor& reactor, virtio::RunningQueue queue, const BlkDevice& device);
    ~BlkQueue() override;

  private:
    struct Request;

    [[nodiscard]] size_t free_requests() const noexcept override;
    void start_request(uint32_t head) noexcept override;
    void on_io_complete(Request& request);
    void finish(Request& request, uint8_t status, uint32_t data_written);

    const BlkDevice& device_;
    std::unique_ptr<block::IoChannel> channel_;  // null until opened
    bool open_failed_ = false;
    virtio::ChainLimits chain_limits_;
    std::vector<iovec> iov_arena_;
    queue::RequestPool<Request> requests_;
    // The open callback checks this: the queue may be stopped before the bdev answers.
    std::shared_ptr<BlkQueue*> alive_ = std::make_shared<BlkQueue*>(this);
};

}  // namespace vhostd::virtio_blk

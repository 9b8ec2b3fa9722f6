// BlkQueue: one virtio-blk virtqueue on one reactor. Takes requests from the ring in batches,
// parses them, submits them to the bdev channel, and completes them with the status byte.
// Request contexts and their iovec arrays are preallocated for the whole queue size.
#pragma once

#include <memory>
#include <vector>

#include "block/bdev.hpp"
#include "devices/virtio_blk/blk_device.hpp"
#include "virtio/queue_handler.hpp"

namespace vhostd::virtio_blk {

class BlkQueue final : public virtio::QueueHandler {
  public:
    BlkQueue(reactor::Reactor& reactor, virtio::Virtqueue queue, const BlkDevice& device,
             std::unique_ptr<block::BackendChannel> channel);
    ~BlkQueue() override;

  protected:
    reactor::PollResult process_requests() noexcept override;

  private:
    struct Request;

    void start(Request& request, uint16_t head);
    void submit(Request& request, block::IoType type);
    void on_io_complete(Request& request);
    void finish(Request& request, uint8_t status, uint32_t data_written);

    const BlkDevice& device_;
    std::unique_ptr<block::BackendChannel> channel_;
    virtio::ChainLimits chain_limits_;
    std::vector<Request> requests_;
    std::vector<iovec> iov_arena_;
    std::vector<Request*> free_;
};

}  // namespace vhostd::virtio_blk

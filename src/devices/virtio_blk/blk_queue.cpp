// BlkQueue: the virtio-blk request path on one reactor.
#include "devices/virtio_blk/blk_queue.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "base/iovec.hpp"
#include "base/log.hpp"

namespace vhostd::virtio_blk {
namespace {

constexpr size_t kIovSlack = 16;  // extra iovecs for buffers that cross memory regions

// The one place where block-layer outcomes become virtio-blk status codes.
uint8_t to_status(block::IoStatus io) {
    switch (io) {
        case block::IoStatus::success:
            return status::kOk;
        case block::IoStatus::unsupported:
            return status::kUnsupp;
        case block::IoStatus::io_error:
        case block::IoStatus::no_space:
        case block::IoStatus::aborted:
            return status::kIoErr;
    }
    return status::kIoErr;
}

}  // namespace

struct BlkQueue::Request final : block::IoCompletion {
    BlkQueue* queue = nullptr;
    std::span<iovec> storage;  // this request's slice of the queue's iovec arena
    uint16_t head = 0;
    uint8_t* status = nullptr;  // host address of the request's status byte
    // The chain's device-writable buffers (data of reads, the status byte): what the dirty
    // log marks when the request completes.
    std::span<const iovec> writable;
    uint32_t data_written = 0;  // bytes the device writes on success (IN: the data)
    bool flush_after_write = false;
    block::IoRequest io;

    void io_complete(block::IoRequest&) noexcept override { queue->on_io_complete(*this); }
};

namespace {

// A chain may hold seg_max data segments plus header and status, even if that is more than a
// small queue's size (indirect tables), and the walk also counts the ring descriptor that
// points to an indirect table; anything longer is a looping chain.
virtio::ChainLimits chain_limits_of(uint16_t size, const BlkDeviceOptions& options) {
    return virtio::ChainLimits{
        .max_descriptors = std::max<uint32_t>(size, options.seg_max + 3),
        .max_total_bytes = sizeof(RequestHeader) + 1 + uint64_t{options.seg_max} * options.size_max,
    };
}

size_t iovecs_per_request(const BlkDeviceOptions& options) {
    return options.seg_max + 2 + kIovSlack;
}

}  // namespace

BlkQueue::BlkQueue(reactor::Reactor& reactor, virtio::RunningQueue queue, const BlkDevice& device)
    : QueueHandler(reactor, std::move(queue)),
      device_(device),
      chain_limits_(chain_limits_of(this->queue().ring().size(), device.options())),
      iov_arena_(this->queue().ring().size() * iovecs_per_request(device.options())),
      // One context per ring slot: the driver can never have more requests outstanding.
      requests_(this->queue().ring().size(), [this](Request& r, size_t i) {
          const size_t per_request = iovecs_per_request(device_.options());
          r.queue = this;
          r.storage = std::span(iov_arena_).subspan(i * per_request, per_request);
      }) {
    block::open_channel(
        device.bdev(), reactor,
        [alive =
             std::weak_ptr<BlkQueue*>(alive_)](Result<std::unique_ptr<block::IoChannel>> channel) {
            auto self = alive.lock();
            if (!self) {
                return;  // stopped meanwhile: the channel is dropped here, on its reactor
            }
            BlkQueue& q = **self;
            if (!channel) {
                LOG_RATELIMITED(virtio_blk, err, "queue {}: bdev {} cannot be opened: {}",
                                q.queue().index(), q.device_.bdev().name(),
                                channel.error().describe());
                q.open_failed_ = true;
                return;
            }
            q.channel_ = std::move(*channel);
        });
}

BlkQueue::~BlkQueue() = default;

size_t BlkQueue::free_requests() const noexcept {
    // Until the channel is open requests stay in the ring.
    return channel_ || open_failed_ ? requests_.available() : 0;
}

void BlkQueue::start_request(uint32_t slot) noexcept {
    const auto head = static_cast<uint16_t>(slot);
    Request& request = *requests_.acquire();

    virtio::DescriptorChain chain = queue().ring().walk(head, chain_limits_, request.storage);
    if (virtio::is_ring_error(chain.error)) {
        requests_.release(&request);  // the ring is broken; nothing can be completed
        return;
    }
    // 5.2.6: the status byte is the last byte of the chain and device-writable. Without one
    // the request cannot be answered, and completing it silently could acknowledge a write
    // that never happened: treat the ring as broken instead.
    const virtio::ChainDescriptor& last = chain.last;
    uint8_t* status = nullptr;
    if (last.writable && last.len > 0) {
        if (chain.error == virtio::ChainError::none) {
            // Every buffer was translated, the final one last: the last iovec ends where the
            // chain does.
            const iovec& tail = chain.iov.back();
            status = static_cast<uint8_t*>(tail.iov_base) + tail.iov_len - 1;
        } else if (last.addr <= std::numeric_limits<uint64_t>::max() - (last.len - 1)) {
            status =
                static_cast<uint8_t*>(queue().memory().host_address(last.addr + last.len - 1, 1));
        }
    }
    if (status == nullptr) {
        requests_.release(&request);
        fail_queue("request without a writable status byte");
        return;
    }

    request_started();
    request.head = head;
    request.status = status;
    request.writable = chain.writable();
    request.data_written = 0;
    request.flush_after_write = false;
    if (chain.error != virtio::ChainError::none) {
        LOG_RATELIMITED(virtio_blk, warn, "queue {}: bad request: {}", queue().index(),
                        virtio::to_string(chain.error));
        finish(request, status::kIoErr, 0);
        return;
    }

    std::span<iovec> writable = iov_drop_back(chain.writable(), 1);
    const BlkCommand command = parse_request(chain.readable(), writable, device_.limits());
    switch (command.action) {
        case BlkAction::complete:
            finish(request, command.status, 0);
            return;
        case BlkAction::get_id: {
            // 5.2.6: a NUL-padded string of up to 20 bytes.
            std::array<uint8_t, kIdBytes> id{};
            std::copy(device_.id().begin(), device_.id().end(), id.begin());
            const size_t n = iov_copy_in(command.data, 0, id.data(), id.size());
            finish(request, status::kOk, static_cast<uint32_t>(n));
            return;
        }
        case BlkAction::submit:
            break;
    }
    request.io = block::IoRequest{
        .type = command.io,
        .unmap = command.unmap,
        .offset = command.offset,
        .length = command.length,
        .iov = command.data.data(),
        .iovcnt = static_cast<uint32_t>(command.data.size()),
        .completion = &request,
    };
    if (command.io == block::IoType::read) {
        request.data_written = static_cast<uint32_t>(command.length);
    }
    const bool modifies = command.io == block::IoType::write ||
                          command.io == block::IoType::write_zeroes ||
                          command.io == block::IoType::discard;
    request.flush_after_write =
        modifies && device_.limits().volatile_cache && device_.writes_must_be_stable();
    if (!channel_) {
        finish(request, status::kIoErr, 0);  // the bdev could not be opened
        return;
    }
    channel_->submit(request.io);
}

void BlkQueue::on_io_complete(Request& request) {
    if (request.io.status == block::IoStatus::success && request.flush_after_write) {
        // Writethrough: the write is only complete once it is stable.
        request.flush_after_write = false;
        request.io = block::IoRequest{.type = block::IoType::flush, .completion = &request};
        channel_->submit(request.io);
        return;
    }
    const bool ok = request.io.status == block::IoStatus::success;
    if (!ok) {
        LOG_RATELIMITED(virtio_blk, warn, "queue {}: {} at offset {} failed: {}", queue().index(),
                        block::to_string(request.io.type), request.io.offset,
                        block::to_string(request.io.status));
    }
    finish(request, to_status(request.io.status), ok ? request.data_written : 0);
}

void BlkQueue::finish(Request& request, uint8_t status_code, uint32_t data_written) {
    *request.status = status_code;
    // The status byte is the chain's last writable byte, but a malformed chain may not have
    // listed it among its writable buffers: log it on its own as well.
    const iovec status_byte{request.status, 1};
    queue().log_written({&status_byte, 1});
    complete(request.head, data_written + 1, request.writable);
    requests_.release(&request);
}

}  // namespace vhostd::virtio_blk

// ScsiRequestQueue: the virtio-scsi command path on one reactor.
#include "devices/virtio_scsi/scsi_request_queue.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "devices/virtio_scsi/scsi_device.hpp"

namespace vhostd::virtio_scsi {
namespace {

constexpr size_t kIovSlack = 16;  // extra iovecs for buffers that cross memory regions

scsi::DataDirection to_core(DataDirection direction) {
    switch (direction) {
        case DataDirection::to_device:
            return scsi::DataDirection::to_device;
        case DataDirection::from_device:
            return scsi::DataDirection::from_device;
        case DataDirection::none:
            break;
    }
    return scsi::DataDirection::none;
}

}  // namespace

struct ScsiRequestQueue::Request final : scsi::TaskCompletion {
    ScsiRequestQueue* queue = nullptr;
    std::span<iovec> chain_storage;  // the walked chain; its writable part takes the response
    std::span<iovec> data_storage;   // the data buffers handed to the SCSI core
    std::span<const iovec> writable;
    uint16_t head = 0;
    CmdSizes sizes;  // as in effect when the request was parsed
    scsi::Task task;

    void task_complete(scsi::Task&) noexcept override { queue->on_task_complete(*this); }
};

namespace {

// seg_max data segments plus a header, response and sense that the driver may split, even
// when that is more than a small queue's size (indirect tables), plus the ring descriptor that
// points to an indirect table (the walk counts it).
virtio::ChainLimits chain_limits_of(uint16_t size, const ScsiDeviceOptions& options) {
    return virtio::ChainLimits{
        .max_descriptors = std::max<uint32_t>(size, options.seg_max + 9),
        .max_total_bytes = uint64_t{options.max_sectors} * 512 + 4096,
    };
}

// Storage for what a well-formed request can hold; a longer chain is refused
// (too_many_segments) without sizing every slot for the longest possible chain.
size_t iovecs_per_request(const ScsiDeviceOptions& options) {
    return size_t{options.seg_max} + 8 + kIovSlack;
}

}  // namespace

ScsiRequestQueue::ScsiRequestQueue(reactor::Reactor& reactor, virtio::RunningQueue queue,
                                   const ScsiDevice& device,
                                   std::shared_ptr<ScsiReactorState> state)
    : QueueHandler(reactor, std::move(queue)),
      device_(device),
      state_(std::move(state)),
      chain_limits_(chain_limits_of(this->queue().ring().size(), device.options())),
      iov_arena_(size_t{this->queue().ring().size()} * iovecs_per_request(device.options()) * 2),
      // One context per ring slot: the driver can never have more requests outstanding.
      requests_(this->queue().ring().size(), [this](Request& r, size_t i) {
          const size_t per_request = iovecs_per_request(device_.options());
          r.queue = this;
          r.chain_storage = std::span(iov_arena_).subspan(2 * i * per_request, per_request);
          r.data_storage = std::span(iov_arena_).subspan((2 * i + 1) * per_request, per_request);
      }) {
    state_->register_queue(*this);
    for (size_t id = 0; id < kMaxTargets; ++id) {
        if (const auto& unit = state_->unit(static_cast<uint8_t>(id))) {
            attach_target(static_cast<uint8_t>(id), unit);
        }
    }
}

ScsiRequestQueue::~ScsiRequestQueue() {
    // Stopped and drained: no task is in flight on any channel.
    state_->unregister_queue(*this);
}

void ScsiRequestQueue::attach_target(uint8_t id, const std::shared_ptr<scsi::LogicalUnit>& unit) {
    auto channel = std::make_unique<scsi::TargetChannel>(reactor(), id);
    if (auto attached = channel->attach(unit); !attached) {
        // The target stays addressable; its LUN answers LOGICAL UNIT NOT SUPPORTED.
        LOG_ERROR(virtio_scsi, "queue {}: target {} LUN {} unavailable: {}", queue().index(), id,
                  unit->lun(), attached.error().describe());
    }
    channels_[id] = std::move(channel);
}

void ScsiRequestQueue::detach_target(uint8_t id, std::shared_ptr<Fanout> done) {
    std::unique_ptr<scsi::TargetChannel> channel = std::move(channels_[id]);
    if (!channel) {
        return;
    }
    const uint64_t detach_id = next_detach_id_++;
    scsi::TargetChannel& ch = *channel;
    detaching_.push_back(Detaching{detach_id, std::move(channel), std::move(done)});
    // The callback may run inside the channel's own poller: destroy it from a later message.
    ch.detach(0, [this, alive = std::weak_ptr<int>(alive_), detach_id] {
        reactor().post([this, alive, detach_id] {
            if (alive.lock()) {
                finish_detach(detach_id);
            }
        });
    });
}

void ScsiRequestQueue::finish_detach(uint64_t id) {
    auto it = std::find_if(detaching_.begin(), detaching_.end(),
                           [id](const Detaching& d) { return d.id == id; });
    if (it == detaching_.end()) {
        return;
    }
    if (it->channel->in_flight() != 0) {
        // Commands to other LUNs of the target complete from the channel's poller shortly.
        reactor().post([this, alive = std::weak_ptr<int>(alive_), id] {
            if (alive.lock()) {
                finish_detach(id);
            }
        });
        return;
    }
    detaching_.erase(it);  // drops this queue's share of the removal
}

void ScsiRequestQueue::run_tmf(const TmfOp& op, const std::shared_ptr<Fanout>& fanout) {
    scsi::TargetChannel* channel = channels_[op.target].get();
    if (channel == nullptr) {
        return;
    }
    auto merge = [fanout](scsi::TmfResponse r) { fanout->merge(r); };
    switch (op.subtype) {
        case tmf::kAbortTask:
            channel->abort_task(op.lun, op.tag, merge);
            return;
        case tmf::kAbortTaskSet:
        case tmf::kClearTaskSet:
            // One initiator per controller: clearing the task set aborts the same tasks.
            channel->abort_task_set(op.lun, 0, merge);
            return;
        case tmf::kLogicalUnitReset:
            channel->reset_lun(op.lun, merge);
            return;
        case tmf::kITNexusReset:
            channel->reset_nexus(0, merge);
            return;
        default:
            fanout->merge(scsi::TmfResponse::rejected);
            return;
    }
}

size_t ScsiRequestQueue::free_requests() const noexcept {
    return requests_.available();
}

void ScsiRequestQueue::start_request(uint32_t slot) noexcept {
    const auto head = static_cast<uint16_t>(slot);
    Request& request = *requests_.acquire();
    virtio::DescriptorChain chain = queue().ring().walk(head, chain_limits_, request.chain_storage);
    if (virtio::is_ring_error(chain.error)) {
        requests_.release(&request);  // the ring is broken; nothing can be completed
        return;
    }
    // 5.6.6.1: the response sits at the start of the device-writable part. If the chain is
    // malformed (a buffer outside RAM, too long), the response's place is not known for sure,
    // and writing it elsewhere could make a stale response look like success: the ring is
    // broken instead.
    if (chain.error != virtio::ChainError::none) {
        LOG_RATELIMITED(virtio_scsi, warn, "queue {}: bad request: {}", queue().index(),
                        virtio::to_string(chain.error));
        requests_.release(&request);
        fail_queue("virtio-scsi request with a malformed chain");
        return;
    }
    request.head = head;
    request.sizes = device_.sizes();
    request.writable = chain.writable();
    const CmdRequest cmd =
        parse_cmd_request(chain.readable(), chain.writable(), request.sizes, request.data_storage);
    if (cmd.verdict == CmdVerdict::unanswered) {
        requests_.release(&request);
        fail_queue("virtio-scsi request without a writable response");
        return;
    }
    request_started();
    if (cmd.verdict == CmdVerdict::respond) {
        LOG_RATELIMITED(virtio_scsi, warn, "queue {}: request refused with response {}",
                        queue().index(), cmd.response);
        respond(request, CmdResult{.response = cmd.response}, 0);
        return;
    }
    scsi::TargetChannel* channel = channels_[cmd.address->target].get();
    if (channel == nullptr) {
        // 5.6.6.1: no such target.
        respond(request, CmdResult{.response = response::kBadTarget}, 0);
        return;
    }
    scsi::Task& task = request.task;
    task.cdb = {};
    std::copy_n(cmd.cdb.begin(), cmd.cdb_length, task.cdb.begin());
    task.cdb_length = static_cast<uint8_t>(cmd.cdb_length);
    task.lun = cmd.address->lun;
    task.initiator = 0;  // a virtio-scsi controller is one I_T nexus per target
    task.tag = cmd.tag;
    task.direction = to_core(cmd.direction);
    task.iov = cmd.data.data();
    task.iovcnt = static_cast<uint32_t>(cmd.data.size());
    task.transfer_length = cmd.data_length;
    task.completion = &request;
    task.status = scsi::status::good;
    task.aborted = false;
    task.overrun = false;
    task.sense_length = 0;
    task.data_transferred = 0;
    channel->execute(task);
}

void ScsiRequestQueue::on_task_complete(Request& request) {
    const scsi::Task& task = request.task;
    CmdResult result{
        .response = task.aborted ? response::kAborted : response::kOk,
        .status = task.status,
        .residual = static_cast<uint32_t>(std::min<uint64_t>(task.residual(), UINT32_MAX)),
        .sense = std::span(task.sense.data(), task.sense_length),
    };
    const uint32_t data_in = task.direction == scsi::DataDirection::from_device
                                 ? static_cast<uint32_t>(task.data_transferred)
                                 : 0;
    respond(request, result, data_in);
}

void ScsiRequestQueue::respond(Request& request, const CmdResult& result, uint32_t data_in) {
    uint32_t written = write_cmd_response(request.writable, result, request.sizes);
    if (data_in != 0) {
        // 5.6.6.1: data-in starts after the whole sense area.
        written = static_cast<uint32_t>(sizeof(CmdResponse) + request.sizes.sense_size + data_in);
    }
    complete(request.head, written);
    requests_.release(&request);
}

}  // namespace vhostd::virtio_scsi

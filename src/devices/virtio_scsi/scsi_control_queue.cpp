// ScsiControlQueue: task management and asynchronous notification requests.
#include "devices/virtio_scsi/scsi_control_queue.hpp"

#include <cstring>

#include "base/iovec.hpp"
#include "base/log.hpp"
#include "devices/virtio_scsi/scsi_device.hpp"

namespace vhostd::virtio_scsi {
namespace {

uint8_t to_response(scsi::TmfResponse r) {
    switch (r) {
        case scsi::TmfResponse::complete:
            return response::kFunctionComplete;
        case scsi::TmfResponse::succeeded:
            return response::kFunctionSucceeded;
        case scsi::TmfResponse::rejected:
            return response::kFunctionRejected;
        case scsi::TmfResponse::incorrect_lun:
            return response::kIncorrectLun;
    }
    return response::kFunctionRejected;
}

bool supported(uint32_t subtype) {
    return subtype == tmf::kAbortTask || subtype == tmf::kAbortTaskSet ||
           subtype == tmf::kClearTaskSet || subtype == tmf::kLogicalUnitReset ||
           subtype == tmf::kITNexusReset;
}

}  // namespace

ScsiControlQueue::ScsiControlQueue(reactor::Reactor& reactor, virtio::RunningQueue queue,
                                   const ScsiDevice& device,
                                   std::shared_ptr<ScsiReactorState> state)
    : QueueHandler(reactor, std::move(queue)),
      device_(device),
      state_(std::move(state)),
      requests_(this->queue().ring().size()) {}

ScsiControlQueue::~ScsiControlQueue() = default;

void ScsiControlQueue::start_request(uint32_t slot) noexcept {
    const auto head = static_cast<uint16_t>(slot);
    Request& request = *requests_.acquire();
    const virtio::ChainLimits limits{.max_descriptors = queue().ring().size(),
                                     .max_total_bytes = 4096};
    virtio::DescriptorChain chain = queue().ring().walk(head, limits, request.iov);
    if (virtio::is_ring_error(chain.error)) {
        requests_.release(&request);
        return;
    }
    request.head = head;
    request.writable = chain.writable();
    uint32_t type = 0;
    const bool has_type = chain.error == virtio::ChainError::none &&
                          iov_copy_out(chain.readable(), 0, &type, sizeof(type)) == sizeof(type);
    // 5.6.6.2: the response's place depends on the request type; a request whose type or
    // buffers cannot be read has no place to answer in.
    const uint64_t readable = chain.readable_bytes;
    const uint64_t writable = chain.writable_bytes;
    if (has_type && type == control_type::kTmf && writable >= 1) {
        request_started();
        TmfRequest tmf{};
        if (readable < sizeof(tmf)) {
            const uint8_t failure = response::kFailure;
            finish(request, {&failure, 1});
            return;
        }
        iov_copy_out(chain.readable(), 0, &tmf, sizeof(tmf));
        task_management(request, tmf);
        return;
    }
    if (has_type && (type == control_type::kAnQuery || type == control_type::kAnSubscribe) &&
        writable >= sizeof(AnResponse)) {
        request_started();
        // 5.6.6.2.1: no asynchronous notification class is supported, so event_actual is 0.
        AnResponse an{
            .event_actual = 0,
            .response = readable < sizeof(AnRequest) ? response::kFailure : response::kOk};
        finish(request, {reinterpret_cast<const uint8_t*>(&an), sizeof(an)});
        return;
    }
    LOG_RATELIMITED(virtio_scsi, warn, "control queue: unanswerable request (type {}, {}+{} bytes)",
                    type, readable, writable);
    requests_.release(&request);
    fail_queue("virtio-scsi control request without a place for its response");
}

void ScsiControlQueue::task_management(Request& request, const TmfRequest& tmf) {
    const std::optional<ScsiAddress> address = parse_lun_field(tmf.lun);
    if (!address || !state_->unit(address->target)) {
        const uint8_t bad = response::kBadTarget;
        finish(request, {&bad, 1});
        return;
    }
    if (!supported(tmf.subtype)) {
        // CLEAR ACA (no NACA support), QUERY TASK / QUERY TASK SET and anything newer.
        const uint8_t rejected = response::kFunctionRejected;
        finish(request, {&rejected, 1});
        return;
    }
    const TmfOp op{tmf.subtype, address->target, address->lun, tmf.id};
    std::shared_ptr<scsi::LogicalUnit> unit = state_->unit(address->target);
    auto fanout = Fanout::create(reactor(), [this, &request, op, unit](scsi::TmfResponse r) {
        const bool done = r == scsi::TmfResponse::complete || r == scsi::TmfResponse::succeeded;
        // Unit attentions once every queue has finished (SAM-5 6.3.3, 6.3.4).
        if (done && op.subtype == tmf::kLogicalUnitReset && op.lun == unit->lun()) {
            unit->notify_reset();
        }
        if (done && op.subtype == tmf::kITNexusReset) {
            unit->notify_nexus_reset(0);
        }
        const uint8_t code = to_response(r);
        finish(request, {&code, 1});
        queue().flush_used();  // a message, not a poll: publish now
    });
    for (const std::shared_ptr<ScsiReactorState>& state : device_.reactor_states()) {
        state->reactor().post([state, op, fanout] { state->run_tmf(op, fanout); });
    }
}

void ScsiControlQueue::finish(Request& request, std::span<const uint8_t> response) {
    const size_t n = iov_copy_in(request.writable, 0, response.data(), response.size());
    complete(request.head, static_cast<uint32_t>(n), request.writable);
    requests_.release(&request);
}

}  // namespace vhostd::virtio_scsi

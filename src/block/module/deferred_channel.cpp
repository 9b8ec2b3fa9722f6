// Deferred-completion channel shared by the synchronous backends.
#include "block/module/deferred_channel.hpp"

#include "base/log.hpp"

namespace vhostd::block {

DeferredChannel::DeferredChannel(reactor::Reactor& reactor, const Bdev& bdev)
    : reactor_(reactor), bdev_name_(bdev.name()), limits_(RequestLimits::of(bdev)) {
    reactor_.add_poller(*this);
}

DeferredChannel::~DeferredChannel() {
    reactor_.remove_poller(*this);
    if (!done_.empty()) {
        // The owner broke the drain-before-destroy rule; these requests never complete.
        LOG_ERROR(block, "bdev {}: channel destroyed with completions pending", bdev_name_);
    }
}

void DeferredChannel::submit(IoRequest& request) noexcept {
    scratch(request).transferred = 0;
    scratch(request).backend_state = 0;
    IoStatus status = check_request(request, limits_);
    if (status == IoStatus::io_error) {
        LOG_RATELIMITED(block, warn, "bdev {}: refusing malformed {} at offset {} length {}",
                        bdev_name_, to_string(request.type), request.offset, request.length);
    } else if (status == IoStatus::success) {
        status = execute(request);
    }
    request.status = status;
    done_.push_back(request);
}

reactor::PollResult DeferredChannel::poll() noexcept {
    if (done_.empty()) {
        return reactor::PollResult::idle;
    }
    // Only what was queued before this poll: requests resubmitted by the callbacks wait for
    // the next iteration, which bounds the work done here.
    RequestList batch = done_.take();
    while (IoRequest* request = batch.pop_front()) {
        request->completion->io_complete(*request);
    }
    return reactor::PollResult::busy;
}

}  // namespace vhostd::block

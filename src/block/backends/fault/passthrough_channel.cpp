// PassthroughChannel: child requests over the base bdev's channel.
#include "block/backends/fault/passthrough_channel.hpp"

#include "base/log.hpp"

namespace vhostd::block {

PassthroughChannel::PassthroughChannel(reactor::Reactor& reactor, std::unique_ptr<IoChannel> base)
    : reactor_(reactor), base_(std::move(base)), children_(kMaxChildren) {
    free_.reserve(kMaxChildren);
    for (Child& child : children_) {
        child.owner = this;
        free_.push_back(&child);
    }
    reactor_.add_poller(*this);
}

PassthroughChannel::~PassthroughChannel() {
    reactor_.remove_poller(*this);
    if (in_flight_ != 0) {
        // The owner broke the drain-before-destroy rule; these requests never complete.
        LOG_ERROR(block, "passthrough channel destroyed with {} requests in flight", in_flight_);
    }
}

void PassthroughChannel::submit(IoRequest& request) noexcept {
    ++in_flight_;
    IoStatus status = IoStatus::success;
    switch (admit(request, status)) {
        case Verdict::forward:
            forward(request);
            return;
        case Verdict::fail:
            request.status = status;
            complete_later(request);
            return;
        case Verdict::hold:
            return;
    }
}

void PassthroughChannel::forward(IoRequest& request) noexcept {
    if (free_.empty() || !waiting_.empty()) {
        waiting_.push_back(request);
        return;
    }
    Child& child = *free_.back();
    free_.pop_back();
    start_child(request, child);
}

void PassthroughChannel::start_child(IoRequest& request, Child& child) noexcept {
    child.parent = &request;
    child.io = IoRequest{.type = request.type,
                         .unmap = request.unmap,
                         .offset = request.offset,
                         .length = request.length,
                         .iov = request.iov,
                         .iovcnt = request.iovcnt,
                         .completion = &child};
    base_->submit(child.io);
}

void PassthroughChannel::child_done(Child& child) noexcept {
    IoRequest& parent = *child.parent;
    parent.status = child.io.status;
    child.parent = nullptr;
    free_.push_back(&child);
    finished(parent);
    // A freed child takes the oldest waiting request.
    if (IoRequest* next = waiting_.pop_front()) {
        Child& again = *free_.back();
        free_.pop_back();
        start_child(*next, again);
    }
}

void PassthroughChannel::complete_later(IoRequest& request) noexcept {
    done_.push_back(request);
}

reactor::PollResult PassthroughChannel::poll() noexcept {
    bool busy = tick();
    // Only what finished before this poll: a callback that resubmits waits a turn.
    RequestList batch = done_.take();
    while (IoRequest* request = batch.pop_front()) {
        --in_flight_;
        request->completion->io_complete(*request);
        busy = true;
    }
    return busy ? reactor::PollResult::busy : reactor::PollResult::idle;
}

bool PassthroughChannel::enter_interrupt_mode() noexcept {
    // Forwarded requests complete through the base channel, which wakes the reactor itself.
    return done_.empty() && !holding();
}

}  // namespace vhostd::block

// NsChannel: asynchronous open, waiting commands, drain before detach.
#include "nvme/ns_channel.hpp"

#include "base/log.hpp"

namespace vhostd::nvme {

NsChannel::NsChannel(reactor::Reactor& reactor, std::shared_ptr<const Namespace> ns)
    : reactor_(reactor), ns_(std::move(ns)) {
    block::open_channel(ns_->bdev(), reactor,
                        [alive = std::weak_ptr<NsChannel*>(alive_)](
                            Result<std::unique_ptr<block::IoChannel>> channel) {
                            if (auto self = alive.lock()) {
                                (*self)->opened(std::move(channel));
                            }
                            // Otherwise detached meanwhile: the channel is dropped here.
                        });
}

NsChannel::~NsChannel() = default;

void NsChannel::opened(Result<std::unique_ptr<block::IoChannel>> channel) {
    if (!channel) {
        LOG_RATELIMITED(nvme, err, "namespace {} (bdev {}): channel cannot be opened: {}",
                        ns_->nsid(), ns_->bdev().name(), channel.error().describe());
        open_failed_ = true;
    } else {
        channel_ = std::move(*channel);
    }
    wake_waiters();
}

void NsChannel::wait(ChannelWaiter& waiter) noexcept {
    waiter.next_waiter = nullptr;
    if (waiters_tail_ != nullptr) {
        waiters_tail_->next_waiter = &waiter;
    } else {
        waiters_head_ = &waiter;
    }
    waiters_tail_ = &waiter;
}

void NsChannel::wake_waiters() noexcept {
    ChannelWaiter* waiter = waiters_head_;
    waiters_head_ = nullptr;
    waiters_tail_ = nullptr;
    while (waiter != nullptr) {
        ChannelWaiter* next = waiter->next_waiter;
        waiter->next_waiter = nullptr;
        waiter->channel_ready();
        waiter = next;
    }
}

void NsChannel::release() noexcept {
    if (--users_ == 0 && on_idle_) {
        reactor_.post(std::exchange(on_idle_, nullptr));
    }
}

void NsChannel::when_idle(std::move_only_function<void()> done) {
    if (users_ == 0) {
        reactor_.post(std::move(done));
        return;
    }
    on_idle_ = std::move(done);
}

}  // namespace vhostd::nvme

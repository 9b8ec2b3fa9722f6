// Mailbox: the intrusive MPSC queue, and the sleep/wake handshake with producers.
#include "reactor/mailbox.hpp"

#include "base/event_fd.hpp"

namespace vhostd::reactor {

Result<std::unique_ptr<Mailbox>> Mailbox::create(Reactor& reactor, Handler handler) {
    UniqueFd event = VHOSTD_TRY(make_event_fd());
    std::unique_ptr<Mailbox> mailbox(new Mailbox(reactor, std::move(handler), std::move(event)));
    // The eventfd only wakes the loop; the nodes are taken by poll().
    mailbox->watch_ = VHOSTD_TRY(reactor.watch_wake_fd(mailbox->event_.get()));
    reactor.add_poller(*mailbox);
    return mailbox;
}

Mailbox::Mailbox(Reactor& reactor, Handler handler, UniqueFd event)
    : reactor_(reactor),
      handler_(std::move(handler)),
      event_(std::move(event)),
      head_(&stub_),
      tail_(&stub_) {}

Mailbox::~Mailbox() {
    reactor_.remove_poller(*this);
    if (watch_) {
        reactor_.unwatch_fd(*watch_);
    }
}

void Mailbox::push(MailboxNode& node) noexcept {
    node.next.store(nullptr, std::memory_order_relaxed);
    // seq_cst: ordered before the sleeping_ load in post() (see enter_interrupt_mode).
    MailboxNode* previous = head_.exchange(&node, std::memory_order_seq_cst);
    previous->next.store(&node, std::memory_order_release);
}

void Mailbox::post(MailboxNode& node) noexcept {
    push(node);
    // Either the consumer, about to sleep, sees our node (pending()), or we see that it sleeps
    // and wake it: both sides store then load with seq_cst, so one of them must notice.
    if (sleeping_.load(std::memory_order_seq_cst) &&
        sleeping_.exchange(false, std::memory_order_seq_cst)) {
        signal_event_fd(event_.get());
    }
}

MailboxNode* Mailbox::pop() noexcept {
    MailboxNode* tail = tail_;
    MailboxNode* next = tail->next.load(std::memory_order_acquire);
    if (tail == &stub_) {
        if (next == nullptr) {
            return nullptr;
        }
        tail_ = next;
        tail = next;
        next = next->next.load(std::memory_order_acquire);
    }
    if (next != nullptr) {
        tail_ = next;
        return tail;
    }
    // `tail` is the newest node unless a producer has exchanged past it without linking yet.
    if (tail != head_.load(std::memory_order_acquire)) {
        return nullptr;
    }
    // Put the stub behind the last node so the last node can be handed out.
    push(stub_);
    next = tail->next.load(std::memory_order_acquire);
    if (next != nullptr) {
        tail_ = next;
        return tail;
    }
    return nullptr;
}

bool Mailbox::pending() const noexcept {
    return tail_->next.load(std::memory_order_seq_cst) != nullptr ||
           head_.load(std::memory_order_seq_cst) != tail_;
}

PollResult Mailbox::poll() noexcept {
    size_t handled = 0;
    while (handled < kMaxPerPoll) {
        MailboxNode* node = pop();
        if (node == nullptr) {
            break;
        }
        ++handled;
        handler_(*node);
    }
    delivered_ += handled;
    return handled != 0 ? PollResult::busy : PollResult::idle;
}

bool Mailbox::enter_interrupt_mode() noexcept {
    sleeping_.store(true, std::memory_order_seq_cst);
    if (pending()) {
        sleeping_.store(false, std::memory_order_relaxed);
        return false;
    }
    return true;
}

void Mailbox::leave_interrupt_mode() noexcept {
    sleeping_.store(false, std::memory_order_relaxed);
}

}  // namespace vhostd::reactor

// Mailbox: how a thread that is not a reactor (a storage library's callback thread) hands
// finished work to a reactor without a lock on the I/O path. Producers push intrusive nodes
// onto a multi-producer, single-consumer queue (Vyukov's: one atomic exchange per push, no
// allocation); the owning reactor polls it like any other poller, and an eventfd wakes the
// reactor when it sleeps, so adaptive polling never loses a completion.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "reactor/poller.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::reactor {

// Embedded in whatever is posted (an I/O request). A node may be posted again only after the
// handler has been called for it.
struct MailboxNode {
    std::atomic<MailboxNode*> next{nullptr};
};

class Mailbox final : public Poller {
  public:
    // Runs on the owning reactor for each posted node, in the order the posts completed.
    using Handler = std::move_only_function<void(MailboxNode&)>;

    // Most nodes one poll() hands to the handler: bounds one iteration's work; the rest wait
    // for the next iteration.
    static constexpr size_t kMaxPerPoll = 1024;

    // Registers the poller and the wake-up eventfd with `reactor`; call on its thread.
    static Result<std::unique_ptr<Mailbox>> create(Reactor& reactor, Handler handler);
    // Owner thread, once no producer can post any more.
    ~Mailbox() override;
    Mailbox(const Mailbox&) = delete;
    Mailbox& operator=(const Mailbox&) = delete;

    // Any thread, lock-free. Wakes the reactor if it sleeps.
    void post(MailboxNode& node) noexcept;

    PollResult poll() noexcept override;
    bool enter_interrupt_mode() noexcept override;
    void leave_interrupt_mode() noexcept override;

    // Nodes handed to the handler so far (owner thread).
    [[nodiscard]] uint64_t delivered() const { return delivered_; }

  private:
    Mailbox(Reactor& reactor, Handler handler, UniqueFd event);
    // Next node in post order, or nullptr when none is complete yet (a producer between its
    // exchange and its link is picked up by a later poll).
    MailboxNode* pop() noexcept;
    [[nodiscard]] bool pending() const noexcept;
    void push(MailboxNode& node) noexcept;

    Reactor& reactor_;
    Handler handler_;
    UniqueFd event_;
    std::optional<Reactor::FdId> watch_;
    MailboxNode stub_;
    alignas(64) std::atomic<MailboxNode*> head_;  // producers: the newest node
    alignas(64) MailboxNode* tail_;               // consumer: the oldest node not yet taken
    std::atomic<bool> sleeping_{false};
    uint64_t delivered_ = 0;
};

}  // namespace vhostd::reactor

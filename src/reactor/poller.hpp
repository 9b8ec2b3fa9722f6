// Poller: a unit of work a reactor calls on every loop iteration (a virtqueue, an io_uring
// completion queue). Pollers report whether they found work, which drives adaptive polling.
#pragma once

namespace vhostd::reactor {

enum class PollResult : bool { idle = false, busy = true };

class Poller {
  public:
    virtual ~Poller() = default;

    // Does a bounded amount of work; never blocks.
    virtual PollResult poll() noexcept = 0;

    // The reactor is about to sleep in epoll. Arm the wake-up source (for a virtqueue: drain the
    // kick eventfd, enable guest notifications, then look at the ring again). Return false if
    // work is already pending; the reactor then keeps polling instead of sleeping.
    virtual bool enter_interrupt_mode() noexcept { return true; }

    // The reactor woke up and polls again (for a virtqueue: suppress guest notifications).
    virtual void leave_interrupt_mode() noexcept {}
};

}  // namespace vhostd::reactor

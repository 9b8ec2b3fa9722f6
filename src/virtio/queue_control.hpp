// QueueControl: how a transport's session (vhost-user today; any transport that carries
// virtqueues) starts, stops and re-wires the queues of its device. The session decides *when*
// (protocol state); the implementer (the controller) decides *where* (which reactor). Every
// call and callback happens on the session's control thread.
#pragma once

#include <cstdint>
#include <functional>

#include "base/unique_fd.hpp"
#include "virtio/queue_handler.hpp"
#include "virtio/running_queue.hpp"

namespace vhostd::virtio {

class QueueControl {
  public:
    using StoppedCallback = std::move_only_function<void(QueueStopResult)>;

    virtual ~QueueControl() = default;

    // Starts serving a queue whose ring addresses the session has validated and translated.
    virtual void start_queue(VirtqueueConfig config) = 0;
    // Stops a started queue after its in-flight requests complete; `done` gets the index
    // to report in VHOST_USER_GET_VRING_BASE.
    virtual void stop_queue(uint16_t index, StoppedCallback done) = 0;
    // VHOST_USER_SET_VRING_CALL on a started queue (QEMU swaps call fds when the guest masks
    // and unmasks interrupts).
    virtual void set_call_fd(uint16_t index, UniqueFd call) = 0;
    // Memory hot-plug (ADD_MEM_REG / REM_MEM_REG): a started queue translates requests in
    // `memory` from now on, without stopping; `done` once it no longer needs the table it had
    // (QueueHandler::update_memory; with `drain_old`, after the requests taken before).
    virtual void update_memory(uint16_t index, guest_memory::GuestMemory::Ptr memory,
                               bool drain_old, std::move_only_function<void()> done) = 0;
};

}  // namespace vhostd::virtio

// DEVICE_GET_IRQ_INFO and DEVICE_SET_IRQS: the checks that turn a client's interrupt request
// into the well-formed pci::IrqSet a Function is promised (function.hpp), and the irq info
// reply.
#pragma once

#include "base/error.hpp"
#include "pci/function.hpp"
#include "vfio_user/message.hpp"

namespace vhostd::vfio_user {

// DEVICE_GET_IRQ_INFO: the index's count and flags as the function declares them.
[[nodiscard]] Result<Reply> irq_info_reply(const Message& message, const pci::Function& function);

// DEVICE_SET_IRQS: exactly one data kind and one action, the index and the range inside what
// irq_info() declares, bools or eventfds matching the count (eventfds checked with
// adopt_peer_event_fd). Takes the message's fds into the result.
[[nodiscard]] Result<pci::IrqSet> parse_set_irqs(Message& message, const pci::Function& function);

}  // namespace vhostd::vfio_user

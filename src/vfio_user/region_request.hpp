// The device and region commands: DEVICE_GET_INFO, DEVICE_GET_REGION_INFO (with the sparse
// mmap capability and the region's fd), DEVICE_GET_REGION_IO_FDS (refused), REGION_READ and
// REGION_WRITE. Every index, offset and count is checked against what the function declares
// (region_info()) before it is called.
#pragma once

#include "base/error.hpp"
#include "pci/function.hpp"
#include "vfio_user/message.hpp"

namespace vhostd::vfio_user {

// DEVICE_GET_INFO: a PCI device that supports reset, with the nine VFIO PCI regions and five
// interrupt types.
[[nodiscard]] Result<Reply> device_info_reply(const Message& message);

// DEVICE_GET_REGION_INFO. `can_send_fd`: the client takes fds in replies (its max_msg_fds is
// not 0); otherwise nothing is offered for mmap.
[[nodiscard]] Result<Reply> region_info_reply(const Message& message, const pci::Function& function,
                                              bool can_send_fd);

// DEVICE_GET_REGION_IO_FDS: checked, then refused with ENOTSUP (vhostd offers no ioeventfds;
// doorbells are mapped or trapped).
[[nodiscard]] Result<Reply> region_io_fds_reply(const Message& message);

// REGION_READ / REGION_WRITE, performed on `function`.
[[nodiscard]] Result<Reply> region_read(const Message& message, pci::Function& function);
[[nodiscard]] Result<Reply> region_write(const Message& message, pci::Function& function);

}  // namespace vhostd::vfio_user

// DEVICE_GET_IRQ_INFO and DEVICE_SET_IRQS checks.
#include "vfio_user/irq_request.hpp"

#include <bit>

#include "base/event_fd.hpp"

namespace vhostd::vfio_user {

namespace {

static_assert(pci::kIntx == pci_irq::kIntx && pci::kMsi == pci_irq::kMsi &&
              pci::kMsix == pci_irq::kMsix && pci::kErr == pci_irq::kErr &&
              pci::kReq == pci_irq::kReq && pci::kNumIrqs == pci_irq::kCount);

Result<uint32_t> irq_index(uint32_t index, const char* what) {
    if (index >= pci_irq::kCount) {
        return make_error(EINVAL, "{}: interrupt index {} (the device has {})", what, index,
                          pci_irq::kCount);
    }
    return index;
}

}  // namespace

Result<Reply> irq_info_reply(const Message& message, const pci::Function& function) {
    // Spec DEVICE_GET_IRQ_INFO: argsz, flags, index, count; only index matters in the command.
    const auto request = VHOSTD_TRY(message.prefix_as<IrqInfo>());
    VHOSTD_TRY(message.expect_at_most_fds(0));
    // Spec "Message sizes": the 16-byte reply must fit in argsz.
    if (request.argsz < sizeof(IrqInfo)) {
        return make_error(EINVAL, "DEVICE_GET_IRQ_INFO: argsz {} cannot hold the {}-byte reply",
                          request.argsz, sizeof(IrqInfo));
    }
    const uint32_t index = VHOSTD_TRY(irq_index(request.index, "DEVICE_GET_IRQ_INFO"));
    const pci::IrqInfo info = function.irq_info(index);
    IrqInfo out{sizeof(IrqInfo), 0, index, info.count};
    out.flags = (info.eventfd ? kIrqInfoEventfd : 0) | (info.maskable ? kIrqInfoMaskable : 0) |
                (info.automasked ? kIrqInfoAutomasked : 0) | (info.noresize ? kIrqInfoNoresize : 0);
    Reply reply;
    reply.append(out);
    return reply;
}

Result<pci::IrqSet> parse_set_irqs(Message& message, const pci::Function& function) {
    const auto request = VHOSTD_TRY(message.prefix_as<IrqSet>());
    if (request.argsz < sizeof(IrqSet)) {
        return make_error(EINVAL, "DEVICE_SET_IRQS: argsz {} is smaller than the {}-byte header",
                          request.argsz, sizeof(IrqSet));
    }
    // Spec DEVICE_SET_IRQS: the data flags and the action flags are each mutually exclusive;
    // exactly one of each, and no other bit.
    const uint32_t data = request.flags & kIrqDataTypeMask;
    const uint32_t action = request.flags & kIrqActionTypeMask;
    if ((request.flags & ~(kIrqDataTypeMask | kIrqActionTypeMask)) != 0 ||
        std::popcount(data) != 1 || std::popcount(action) != 1) {
        return make_error(EINVAL,
                          "DEVICE_SET_IRQS: flags {:#x} are not one data kind and one action",
                          request.flags);
    }
    const uint32_t index = VHOSTD_TRY(irq_index(request.index, "DEVICE_SET_IRQS"));
    // Bools travel in the payload, one byte per sub-index; eventfds travel as fds.
    const size_t data_bytes = data == kIrqDataBool ? request.count : 0;
    if (message.payload.size() != sizeof(IrqSet) + data_bytes) {
        return make_error(EINVAL, "DEVICE_SET_IRQS: payload of {} bytes, expected {}",
                          message.payload.size(), sizeof(IrqSet) + data_bytes);
    }
    if (data != kIrqDataEventfd && !message.fds.empty()) {
        return make_error(EINVAL, "DEVICE_SET_IRQS: {} file descriptors without DATA_EVENTFD",
                          message.fds.size());
    }

    pci::IrqSet set;
    set.index = index;
    set.start = request.start;
    set.count = request.count;
    set.action = action == kIrqActionMask     ? pci::IrqAction::mask
                 : action == kIrqActionUnmask ? pci::IrqAction::unmask
                                              : pci::IrqAction::trigger;
    set.data = data == kIrqDataNone   ? pci::IrqData::none
               : data == kIrqDataBool ? pci::IrqData::boolean
                                      : pci::IrqData::eventfd;

    // Spec DEVICE_SET_IRQS: "a count (and start) of 0, with data flags of DATA_NONE disables
    // all interrupts of the index" (with ACTION_TRIGGER, as VFIO defines it). Any other
    // count of 0 means nothing.
    if (request.count == 0) {
        if (request.start != 0 || data != kIrqDataNone || action != kIrqActionTrigger) {
            return make_error(EINVAL,
                              "DEVICE_SET_IRQS: count 0 is only valid as start 0, DATA_NONE, "
                              "ACTION_TRIGGER (disable the index)");
        }
        return set;
    }
    const pci::IrqInfo info = function.irq_info(index);
    if (uint64_t{request.start} + request.count > info.count) {
        return make_error(EINVAL, "DEVICE_SET_IRQS: vectors {}..{} of index {}, which has {}",
                          request.start, uint64_t{request.start} + request.count, index,
                          info.count);
    }
    // VFIO: the error and request interrupts are single eventfds that are only triggered.
    if ((index == pci_irq::kErr || index == pci_irq::kReq) &&
        (action != kIrqActionTrigger || request.count > 1)) {
        return make_error(EINVAL, "DEVICE_SET_IRQS: index {} only takes one trigger", index);
    }
    // Spec DEVICE_GET_IRQ_INFO: MASK and UNMASK are for types flagged MASKABLE.
    if (action != kIrqActionTrigger && !info.maskable) {
        return make_error(EINVAL, "DEVICE_SET_IRQS: interrupt index {} is not maskable", index);
    }
    if (data == kIrqDataBool) {
        // Like VFIO, any non-zero byte is true.
        const auto bytes = message.body().subspan(sizeof(IrqSet));
        set.bools.reserve(bytes.size());
        for (const std::byte b : bytes) {
            set.bools.push_back(b != std::byte{0});
        }
    } else if (data == kIrqDataEventfd) {
        if (!info.eventfd) {
            return make_error(EINVAL, "DEVICE_SET_IRQS: interrupt index {} takes no eventfds",
                              index);
        }
        // Spec DATA_EVENTFD: one fd per sub-index; "if no file descriptors are provided, this
        // de-assigns the specified previously configured interrupts".
        if (message.fds.empty()) {
            set.fds.resize(request.count);
        } else if (message.fds.size() != request.count) {
            return make_error(EINVAL, "DEVICE_SET_IRQS: {} eventfds for {} vectors",
                              message.fds.size(), request.count);
        } else {
            for (const UniqueFd& fd : message.fds) {
                VHOSTD_TRY(adopt_peer_event_fd(fd.get()));
            }
            set.fds = std::move(message.fds);
        }
    }
    return set;
}

}  // namespace vhostd::vfio_user

// Interrupts: SET_IRQS, mask words, lock-free signalling.
#include "pci/interrupts.hpp"

#include "base/event_fd.hpp"
#include "base/log.hpp"

namespace vhostd::pci {

Interrupts::Interrupts(uint16_t msix_vectors, Retire retire)
    : vectors_(msix_vectors), retire_(std::move(retire)) {
    reset();
}

Interrupts::~Interrupts() = default;

IrqInfo Interrupts::info(uint32_t index) const {
    switch (index) {
        case kIntx:
            // Level semantics are not emulated: the line is an edge per interrupt, so the
            // client never needs to unmask after each one (not automasked).
            return IrqInfo{.count = 1, .eventfd = true, .maskable = true};
        case kMsix:
            // Vectors can be set one by one (no resize restriction) and masked through
            // SET_IRQS, which QEMU uses instead of tearing eventfds down.
            return IrqInfo{.count = msix_vectors(), .eventfd = true, .maskable = true};
        default:
            return IrqInfo{};
    }
}

void Interrupts::assign(Line& line, std::shared_ptr<UniqueFd> fd) {
    line.fd.store(fd ? fd->get() : -1, std::memory_order_release);
    std::shared_ptr<UniqueFd> old = std::exchange(line.owned, std::move(fd));
    if (old && retire_) {
        retire_(std::move(old));
    }
}

Result<void> Interrupts::set_eventfds(Line* lines, uint32_t start, uint32_t count, IrqSet& set) {
    if (set.fds.size() != count) {
        return make_error(EINVAL, "{} eventfds for {} interrupts", set.fds.size(), count);
    }
    // Checked before any is taken, so a bad set changes nothing.
    for (const UniqueFd& fd : set.fds) {
        if (fd) {
            VHOSTD_TRY(adopt_peer_event_fd(fd.get()));
        }
    }
    for (uint32_t i = 0; i < count; ++i) {
        UniqueFd& fd = set.fds[i];
        assign(lines[start + i], fd ? std::make_shared<UniqueFd>(std::move(fd)) : nullptr);
    }
    return {};
}

Result<void> Interrupts::set_irqs(IrqSet set) {
    Line* lines = nullptr;
    uint32_t available = 0;
    uint32_t blockers = 0;  // what keeps a pending signal from being delivered
    if (set.index == kIntx) {
        lines = &intx_;
        available = 1;
        blockers = kIntxMasks;
    } else if (set.index == kMsix) {
        lines = vectors_.data();
        available = msix_vectors();
        blockers = kMasks | kDisabled;
    } else {
        // No MSI, error or request interrupts: only "disable all" is meaningful for them.
        if (set.count == 0 && set.data == IrqData::none && set.action == IrqAction::trigger) {
            return {};
        }
        return make_error(EINVAL, "interrupt index {} has no interrupts", set.index);
    }
    if (set.start > available || set.count > available - set.start) {
        return make_error(EINVAL, "interrupts {}+{} out of {}", set.start, set.count, available);
    }
    if (set.data == IrqData::boolean && set.bools.size() != set.count) {
        return make_error(EINVAL, "{} flags for {} interrupts", set.bools.size(), set.count);
    }
    const auto selected = [&](uint32_t i) { return set.data != IrqData::boolean || set.bools[i]; };
    switch (set.action) {
        case IrqAction::trigger:
            if (set.data == IrqData::eventfd) {
                return set_eventfds(lines, set.start, set.count, set);
            }
            if (set.count == 0 && set.data == IrqData::none) {
                // VFIO: count 0 with DATA_NONE disables every interrupt of the index.
                for (uint32_t i = 0; i < available; ++i) {
                    assign(lines[i], nullptr);
                }
                return {};
            }
            // A software trigger: delivered as a signal from the device would be.
            for (uint32_t i = 0; i < set.count; ++i) {
                if (selected(i)) {
                    if (set.index == kIntx) {
                        signal_intx();
                    } else {
                        signal(static_cast<uint16_t>(set.start + i));
                    }
                }
            }
            return {};
        case IrqAction::mask:
        case IrqAction::unmask:
            if (set.data == IrqData::eventfd) {
                return make_error(EINVAL, "unmask through an eventfd is not supported");
            }
            for (uint32_t i = 0; i < set.count; ++i) {
                if (selected(i)) {
                    const bool mask = set.action == IrqAction::mask;
                    update(lines[set.start + i], mask ? kClientMask : 0, mask ? 0 : kClientMask,
                           blockers);
                }
            }
            return {};
    }
    return make_error(EINVAL, "unknown interrupt action");
}

void Interrupts::update(Line& line, uint32_t set_bits, uint32_t clear_bits, uint32_t blockers) {
    uint32_t state = line.state.load(std::memory_order_acquire);
    bool deliver_now = false;
    uint32_t next = 0;
    do {
        next = (state | set_bits) & ~clear_bits;
        deliver_now = (next & blockers) == 0 && (next & kPending) != 0;
        if (deliver_now) {
            next &= ~kPending;
        }
    } while (!line.state.compare_exchange_weak(state, next, std::memory_order_acq_rel,
                                               std::memory_order_acquire));
    if (deliver_now) {
        deliver(line);
    }
}

void Interrupts::set_msix_control(bool enabled, bool function_masked) {
    msix_enabled_ = enabled;
    function_masked_ = function_masked;
    const uint32_t set_bits = (enabled ? 0 : kDisabled) | (function_masked ? kFunctionMask : 0);
    const uint32_t clear_bits = (enabled ? kDisabled : 0) | (function_masked ? 0 : kFunctionMask);
    for (Line& line : vectors_) {
        update(line, set_bits, clear_bits, kMasks | kDisabled);
    }
}

void Interrupts::set_table_mask(uint16_t vector, bool masked) {
    if (vector < vectors_.size()) {
        update(vectors_[vector], masked ? kTableMask : 0, masked ? 0 : kTableMask,
               kMasks | kDisabled);
    }
}

void Interrupts::set_intx_disabled(bool disabled) {
    update(intx_, disabled ? kIntxCommandDisable : 0, disabled ? 0 : kIntxCommandDisable,
           kIntxMasks);
}

void Interrupts::set_intx_device_mask(bool masked) {
    update(intx_, masked ? kIntxDeviceMask : 0, masked ? 0 : kIntxDeviceMask, kIntxMasks);
}

bool Interrupts::pending(uint16_t vector) const {
    return vector < vectors_.size() &&
           (vectors_[vector].state.load(std::memory_order_acquire) & kPending) != 0;
}

void Interrupts::reset() {
    // PCI 3.0 6.8.2.9: after reset every vector's mask bit is set; MSI-X starts disabled.
    for (Line& line : vectors_) {
        assign(line, nullptr);
        line.state.store(kTableMask | kDisabled, std::memory_order_release);
    }
    assign(intx_, nullptr);
    intx_.state.store(0, std::memory_order_release);
    msix_enabled_ = false;
    function_masked_ = false;
}

bool Interrupts::deliver(Line& line) noexcept {
    const int fd = line.fd.load(std::memory_order_acquire);
    if (fd < 0) {
        return true;  // no eventfd set: as with VFIO, the interrupt goes nowhere
    }
    if (!signal_peer_event_fd(fd)) [[unlikely]] {
        LOG_RATELIMITED(app, warn, "an interrupt eventfd does not take notifications");
        return false;
    }
    delivered_.fetch_add(1, std::memory_order_relaxed);
    return true;
}

bool Interrupts::signal_intx() noexcept {
    uint32_t state = intx_.state.load(std::memory_order_acquire);
    while ((state & kIntxMasks) != 0) {
        if (intx_.state.compare_exchange_weak(state, state | kPending, std::memory_order_acq_rel,
                                              std::memory_order_acquire)) {
            held_.fetch_add(1, std::memory_order_relaxed);
            return true;
        }
    }
    return deliver(intx_);
}

bool Interrupts::signal(uint16_t vector) noexcept {
    if (vector >= vectors_.size()) [[unlikely]] {
        return true;
    }
    Line& line = vectors_[vector];
    uint32_t state = line.state.load(std::memory_order_acquire);
    for (;;) {
        if ((state & kDisabled) != 0) {
            return signal_intx();  // MSI-X off: the function interrupts through INTx
        }
        if ((state & kMasks) == 0) {
            return deliver(line);
        }
        // 6.8.2.9: a masked vector's message is held as a pending bit.
        if (line.state.compare_exchange_weak(state, state | kPending, std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
            held_.fetch_add(1, std::memory_order_relaxed);
            return true;
        }
    }
}

}  // namespace vhostd::pci

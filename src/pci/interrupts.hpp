// Interrupts: delivery of a function's MSI-X vectors and its INTx line to the eventfds the
// client set through SET_IRQS. I/O reactors signal vectors without locks; the control reactor
// changes eventfds and masks.
//
// Each vector is one atomic word: its mask sources (the table's vector control bit, a SET_IRQS
// mask, the function mask, MSI-X disabled) and its pending bit. A signal on a masked vector
// sets the pending bit with a compare-and-swap; unmasking clears the mask and takes the
// pending bit in one compare-and-swap and delivers what was pending. A signal and an unmask
// therefore never lose an interrupt between them, and no lock is taken.
//
// A vector's eventfd is an atomic int. Replacing it must not close the old fd while a reactor
// may still be inside signal() with it (the number could be reused by an unrelated file): the
// old fd goes to the owner's `Retire` hook, which keeps it open until every thread that
// signals has passed a point where no signal() that began earlier can still run (the NVMe
// controller posts a message to each of its reactors and drops the fd once all have run it).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "pci/function.hpp"

namespace vhostd::pci {

class Interrupts {
  public:
    // Keeps `fd` open until no signal() that started before the hook was called can run.
    using Retire = std::move_only_function<void(std::shared_ptr<UniqueFd> fd)>;

    // `msix_vectors` MSI-X vectors (at most 2048) and one INTx line. Power-on state: MSI-X
    // disabled, every table entry masked, no eventfds.
    Interrupts(uint16_t msix_vectors, Retire retire);
    ~Interrupts();
    Interrupts(const Interrupts&) = delete;
    Interrupts& operator=(const Interrupts&) = delete;

    [[nodiscard]] uint16_t msix_vectors() const { return static_cast<uint16_t>(vectors_.size()); }
    [[nodiscard]] IrqInfo info(uint32_t index) const;

    // --- control reactor ---
    // VFIO_USER_DEVICE_SET_IRQS for INTx and MSI-X (the transport checked the set's shape).
    // Eventfds must be eventfds (adopt_peer_event_fd); EINVAL otherwise.
    Result<void> set_irqs(IrqSet set);
    // From the MSI-X capability's message control.
    void set_msix_control(bool enabled, bool function_masked);
    // From a table entry's vector control.
    void set_table_mask(uint16_t vector, bool masked);
    // INTx disabled by the command register, or masked by the device (NVMe INTMS).
    void set_intx_disabled(bool disabled);
    void set_intx_device_mask(bool masked);
    [[nodiscard]] bool msix_enabled() const { return msix_enabled_; }
    [[nodiscard]] bool pending(uint16_t vector) const;
    // Power-on state; every eventfd released.
    void reset();

    // --- any thread ---
    // Raises `vector` (MSI-X), or INTx while MSI-X is disabled. A masked source becomes
    // pending. Returns false if the eventfd could not take the notification (a peer that
    // blocks it; see signal_peer_event_fd).
    bool signal(uint16_t vector) noexcept;

    // Notifications written to eventfds, and those held pending by a mask.
    [[nodiscard]] uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
    [[nodiscard]] uint64_t held() const { return held_.load(std::memory_order_relaxed); }

  private:
    // Vector word bits.
    static constexpr uint32_t kTableMask = 1u << 0;     // MSI-X table vector control
    static constexpr uint32_t kClientMask = 1u << 1;    // SET_IRQS mask
    static constexpr uint32_t kFunctionMask = 1u << 2;  // MSI-X function mask
    static constexpr uint32_t kDisabled = 1u << 3;      // MSI-X not enabled (INTx instead)
    static constexpr uint32_t kPending = 1u << 4;
    static constexpr uint32_t kMasks = kTableMask | kClientMask | kFunctionMask;
    // INTx word bits (the mask bits mean: SET_IRQS mask, command register, INTMS).
    static constexpr uint32_t kIntxCommandDisable = 1u << 2;
    static constexpr uint32_t kIntxDeviceMask = 1u << 3;
    static constexpr uint32_t kIntxMasks = kClientMask | kIntxCommandDisable | kIntxDeviceMask;

    struct Line {
        std::atomic<uint32_t> state{0};
        std::atomic<int> fd{-1};
        std::shared_ptr<UniqueFd> owned;  // control reactor: what `fd` refers to
    };

    Result<void> set_eventfds(Line* lines, uint32_t start, uint32_t count, IrqSet& set);
    void assign(Line& line, std::shared_ptr<UniqueFd> fd);
    // Sets and clears bits of `line`'s word; delivers a pending signal the change unmasked.
    void update(Line& line, uint32_t set_bits, uint32_t clear_bits, uint32_t blockers);
    bool deliver(Line& line) noexcept;
    bool signal_intx() noexcept;

    std::vector<Line> vectors_;
    Line intx_;
    Retire retire_;
    bool msix_enabled_ = false;
    bool function_masked_ = false;
    std::atomic<uint64_t> delivered_{0};
    std::atomic<uint64_t> held_{0};
};

}  // namespace vhostd::pci

// Test doubles for the vfio-user session and server: a PCI function with a plain BAR0 whose
// second page is mappable (a memfd, like an NVMe doorbell page), a configuration space, and
// interrupts of every type; it records what the transport asks and lets the test decide when
// set_memory and reset complete. Plus client-side helpers to build and send raw commands.
// Shared by the unit tests and the fuzzers.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "base/unique_fd.hpp"
#include "pci/function.hpp"
#include "support/socket_support.hpp"
#include "vfio_user/message.hpp"

namespace vhostd::vfio_user::testing {

class FakeFunction : public pci::Function {
  public:
    static constexpr uint64_t kBar0Size = 0x4000;
    static constexpr uint64_t kDoorbellOffset = 0x1000;  // the mappable page of BAR0
    static constexpr uint64_t kDoorbellSize = 0x1000;
    static constexpr uint64_t kConfigSize = 4096;
    static constexpr uint32_t kMsixVectors = 8;
    // Config space bytes below this are read-only (vendor and device ids).
    static constexpr uint64_t kConfigReadOnly = 4;

    FakeFunction();
    ~FakeFunction() override;

    [[nodiscard]] pci::RegionInfo region_info(uint32_t index) const override;
    Result<void> read(uint32_t index, uint64_t offset, std::span<uint8_t> out) override;
    Result<void> write(uint32_t index, uint64_t offset, std::span<const uint8_t> data) override;
    [[nodiscard]] pci::IrqInfo irq_info(uint32_t index) const override;
    Result<void> set_irqs(pci::IrqSet set) override;
    void set_memory(guest_memory::GuestMemory::Ptr memory,
                    std::move_only_function<void()> done) override;
    void reset(std::move_only_function<void()> done) override;

    // Runs the set_memory / reset callbacks held so far, in order.
    void complete();
    [[nodiscard]] size_t pending() const { return pending_.size(); }

    // The doorbell page as the function sees it (the client maps the same memfd page).
    [[nodiscard]] volatile uint32_t* doorbells() const { return doorbells_; }

    bool auto_complete = true;  // complete set_memory and reset inside the call
    // Set when the transport broke the Function contract (an access outside a region or
    // against its flags, a malformed IrqSet, a call while one is still pending).
    bool contract_violated = false;

    // What happened, in order.
    enum class Event : uint8_t { set_memory, reset, set_irqs, read, write };
    std::vector<Event> events;
    std::vector<guest_memory::GuestMemory::Ptr> memory_history;
    guest_memory::GuestMemory::Ptr memory;
    int resets = 0;
    std::vector<pci::IrqSet> irq_sets;  // every accepted set (fds moved to the vectors below)
    // The eventfd assigned to each vector of an index (invalid: none).
    std::vector<UniqueFd> intx{1};
    std::vector<UniqueFd> msix{kMsixVectors};
    std::vector<uint8_t> bar0;
    std::vector<uint8_t> config;
    // Next read or write of BAR0 at this offset fails with EIO (a device-side error).
    uint64_t failing_offset = ~0ULL;

  private:
    Result<void> check_access(uint32_t index, uint64_t offset, size_t len, bool write);

    UniqueFd doorbell_fd_;
    volatile uint32_t* doorbells_ = nullptr;
    std::vector<std::move_only_function<void()>> pending_;
};

// A command as a client would send it.
Message make_command(Command command, std::span<const std::byte> payload = {},
                     std::vector<UniqueFd> fds = {}, uint32_t flags = 0, uint16_t msg_id = 7);
template <class T>
Message make_command_with(Command command, const T& payload, std::vector<UniqueFd> fds = {},
                          uint32_t flags = 0, uint16_t msg_id = 7) {
    return make_command(command, std::as_bytes(std::span(&payload, 1)), std::move(fds), flags,
                        msg_id);
}
// The bytes a client writes for `message` (header and payload; fds travel separately).
std::vector<std::byte> encode(const Message& message);
// Socket helpers every transport shares (support/socket_support.hpp).
using vhostd::testing::count_open_fds;
using vhostd::testing::make_memfd;
using vhostd::testing::send_bytes;

}  // namespace vhostd::vfio_user::testing

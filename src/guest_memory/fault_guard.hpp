// FaultGuard: keeps a guest-memory fault from killing the process. A frontend may truncate
// the file behind a region it handed us (nothing forces it to seal a memfd; a hugetlbfs or
// plain file can always be truncated by its owner); touching the lost part raises SIGBUS. The
// SIGBUS handler looks the address up in a table of mapped guest regions: inside one, it maps
// an anonymous page over the faulting page so the access completes, and marks the region
// faulted, so the queues that use it stop and report NEEDS_RESET instead of acknowledging
// requests whose data was lost. A fault anywhere else crashes as before (previous handler or
// the default action).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "base/error.hpp"

namespace vhostd::guest_memory {

// One mapped region's entry in the process-wide table.
class GuardedRange {
  public:
    // Registers [begin, begin + length) (aligned to page_size, the mapping's page size) and
    // installs the SIGBUS handler on first use. ENOSPC if the table is full.
    static Result<GuardedRange> add(void* begin, size_t length, size_t page_size);

    GuardedRange() = default;
    GuardedRange(GuardedRange&& other) noexcept : slot_(other.slot_) { other.slot_ = -1; }
    GuardedRange& operator=(GuardedRange&& other) noexcept;
    ~GuardedRange();  // unregisters (before the range is unmapped)
    GuardedRange(const GuardedRange&) = delete;
    GuardedRange& operator=(const GuardedRange&) = delete;

    // A fault hit this range since it was registered. Any thread.
    [[nodiscard]] bool faulted() const noexcept;

  private:
    explicit GuardedRange(int slot) : slot_(slot) {}
    int slot_ = -1;
};

// Changes whenever some guarded range takes a fault: a queue compares it with the value it saw
// last (one relaxed load per poll) and looks at its own regions only when it moved.
[[nodiscard]] uint64_t fault_epoch() noexcept;

}  // namespace vhostd::guest_memory

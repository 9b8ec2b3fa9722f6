// PRP entries (NVMe base 4.3) for a data buffer that is contiguous in guest-physical memory:
// PRP1 with the buffer's offset, PRP2 the second page or a PRP list written into a page the
// caller owns. Pure: no I/O, so the rules are unit-tested on their own.
#pragma once

#include <cstdint>

#include "base/error.hpp"

namespace vhostd::frontend {

struct PrpPair {
    uint64_t prp1 = 0;
    uint64_t prp2 = 0;
};

// Where a PRP list may go: one page-aligned page the driver owns (host view and its GPA).
struct PrpListPage {
    uint64_t* host = nullptr;
    uint64_t gpa = 0;
};

// Builds PRP1/PRP2 for [gpa, gpa + length) with memory pages of `page_size` (a power of two,
// CC.MPS). A transfer touching more than two pages writes its list into `list` (at most
// page_size / 8 entries: no chained lists). EINVAL for a zero length, a buffer not dword
// aligned (4.3: PRP offsets are dword aligned) or a wrapping range; E2BIG if the list would
// need chaining or no list page was given.
Result<PrpPair> build_prps(uint64_t gpa, uint64_t length, uint32_t page_size,
                           const PrpListPage& list) noexcept;

}  // namespace vhostd::frontend

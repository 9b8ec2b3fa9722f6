// PRP entries for a contiguous buffer.
#include "frontend/nvme_prp.hpp"

namespace vhostd::frontend {

Result<PrpPair> build_prps(uint64_t gpa, uint64_t length, uint32_t page_size,
                           const PrpListPage& list) noexcept {
    if (length == 0 || page_size == 0 || (page_size & (page_size - 1)) != 0) {
        return make_error(EINVAL, "PRPs for {} bytes with page size {}", length, page_size);
    }
    // 4.3: "the offset shall be dword aligned" (bits 1:0 of PRP1 are zero).
    if ((gpa & 3) != 0 || gpa + length < gpa) {
        return make_error(EINVAL, "buffer at {:#x} of {} bytes cannot be described by PRPs", gpa,
                          length);
    }
    const uint64_t mask = uint64_t{page_size} - 1;
    const uint64_t first = page_size - (gpa & mask);  // bytes PRP1's page holds
    PrpPair out{.prp1 = gpa, .prp2 = 0};
    if (length <= first) {
        return out;
    }
    const uint64_t second_page = (gpa | mask) + 1;
    const uint64_t rest = length - first;
    if (rest <= page_size) {
        out.prp2 = second_page;  // 4.3: PRP2 is the second page itself
        return out;
    }
    // PRP2 points to a list of the remaining pages, each entry page aligned.
    const uint64_t entries = (rest + mask) / page_size;
    if (list.host == nullptr || (list.gpa & mask) != 0 || entries > page_size / 8) {
        return make_error(E2BIG, "{} bytes need {} PRP list entries, one list page holds {}",
                          length, entries, page_size / 8);
    }
    for (uint64_t i = 0; i < entries; ++i) {
        list.host[i] = second_page + i * page_size;
    }
    out.prp2 = list.gpa;
    return out;
}

}  // namespace vhostd::frontend

// PRP walker (NVMe 1.4 4.3) and the data pointer dispatch by PSDT.
#include <algorithm>
#include <array>
#include <cstring>

#include "nvme/data_pointer.hpp"

namespace vhostd::nvme {

using guest_memory::GuestMemory;

Status IovecBuilder::add(const GuestMemory& memory, uint64_t gpa, uint64_t len) {
    if (len == 0) {
        return kSuccess;
    }
    // A short array for the pieces of a range that crosses memory regions.
    std::array<iovec, 4> pieces;
    auto n = memory.translate(gpa, len, pieces);
    if (!n) {
        // 4.6.1.2.1 Data Transfer Error: the buffer is not memory the controller can reach,
        // or it is split finer than a request can carry.
        return status::kDataTransferError;
    }
    for (size_t i = 0; i < *n; ++i) {
        const iovec& piece = pieces[i];
        if (used_ > 0) {
            iovec& last = out_[used_ - 1];
            if (static_cast<uint8_t*>(last.iov_base) + last.iov_len == piece.iov_base) {
                last.iov_len += piece.iov_len;
                continue;
            }
        }
        if (used_ == out_.size()) {
            return status::kDataTransferError;
        }
        out_[used_++] = piece;
    }
    return kSuccess;
}

std::expected<size_t, Status> map_prps(const GuestMemory& memory, uint64_t prp1, uint64_t prp2,
                                       uint64_t length, uint32_t page_size, std::span<iovec> out) {
    IovecBuilder iov(out);
    if (length == 0) {
        return 0;
    }
    const uint64_t page_mask = page_size - 1;
    // 4.3: the first entry may have an offset into its page, dword aligned.
    if ((prp1 & 0x3) != 0) {
        return std::unexpected(status::kPrpOffsetInvalid);
    }
    const uint64_t first = std::min<uint64_t>(length, page_size - (prp1 & page_mask));
    if (Status s = iov.add(memory, prp1, first); s != kSuccess) {
        return std::unexpected(s);
    }
    uint64_t remaining = length - first;
    if (remaining == 0) {
        return iov.count();
    }
    if (remaining <= page_size) {
        // PRP2 is the second (and last) page: every entry after the first has offset zero.
        if ((prp2 & page_mask) != 0) {
            return std::unexpected(status::kPrpOffsetInvalid);
        }
        if (Status s = iov.add(memory, prp2, remaining); s != kSuccess) {
            return std::unexpected(s);
        }
        return iov.count();
    }
    // PRP2 points to a PRP list; the pointer may start inside its page, qword aligned.
    if ((prp2 & 0x7) != 0) {
        return std::unexpected(status::kPrpOffsetInvalid);
    }
    uint64_t list = prp2;
    // Each pass consumes at least one page of the transfer, so the walk ends after at most
    // length / page_size passes whatever the list holds (a list pointing at itself included).
    while (remaining > 0) {
        const uint64_t slots = (page_size - (list & page_mask)) / sizeof(uint64_t);
        const uint64_t pages = (remaining + page_size - 1) / page_size;
        // The last slot of a list page chains to the next list when more pages follow.
        const bool chained = pages > slots;
        const uint64_t entries = chained ? slots : pages;
        const uint64_t data_entries = chained ? slots - 1 : pages;
        if (data_entries == 0) {
            // A list pointer in the last qword of its page leaves no room for data.
            return std::unexpected(status::kPrpOffsetInvalid);
        }
        const auto* raw =
            static_cast<const uint8_t*>(memory.host_address(list, entries * sizeof(uint64_t)));
        if (raw == nullptr) {
            return std::unexpected(status::kDataTransferError);
        }
        for (uint64_t i = 0; i < data_entries; ++i) {
            uint64_t entry;
            std::memcpy(&entry, raw + i * sizeof(uint64_t), sizeof(entry));  // read once
            if ((entry & page_mask) != 0) {
                return std::unexpected(status::kPrpOffsetInvalid);
            }
            const uint64_t len = std::min<uint64_t>(remaining, page_size);
            if (Status s = iov.add(memory, entry, len); s != kSuccess) {
                return std::unexpected(s);
            }
            remaining -= len;
        }
        if (chained) {
            uint64_t next;
            std::memcpy(&next, raw + data_entries * sizeof(uint64_t), sizeof(next));
            // A chained list starts on a page boundary.
            if ((next & page_mask) != 0) {
                return std::unexpected(status::kPrpOffsetInvalid);
            }
            list = next;
        }
    }
    return iov.count();
}

std::expected<size_t, Status> map_data(const GuestMemory& memory, const nvme_spec::Command& command,
                                       uint64_t length, std::span<iovec> out,
                                       const DataPointerLimits& limits) {
    const uint8_t psdt = static_cast<uint8_t>(command.flags >> nvme_spec::kPsdtShift);
    if (psdt == nvme_spec::kPsdtPrp) {
        return map_prps(memory, command.dptr1, command.dptr2, length, limits.page_size, out);
    }
    // 4.2: PSDT 01b/10b select SGLs, 11b is reserved; SGLs are for I/O commands only on PCIe.
    if (!limits.allow_sgl || psdt > nvme_spec::kPsdtSglMptrSgl) {
        return std::unexpected(status::kInvalidField);
    }
    nvme_spec::SglDescriptor first;
    std::memcpy(&first, &command.dptr1, sizeof(first));
    return map_sgl(memory, first, length, out, limits.max_sgl_descriptors);
}

}  // namespace vhostd::nvme

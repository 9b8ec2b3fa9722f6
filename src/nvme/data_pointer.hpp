// Data pointers: the PRP entries and SGL descriptors a command uses to describe its data
// buffer, walked into host iovecs that point straight into guest memory (zero copy).
// Everything a walker reads from guest memory (PRP list entries, SGL segments) is copied
// into a local once and checked there; every walk is bounded by the transfer length or the
// descriptor limit, so a looping or self-referencing list only ends the walk with an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>

#include <sys/uio.h>

#include "guest_memory/guest_memory.hpp"
#include "nvme/status.hpp"
#include "spec/nvme.hpp"

namespace vhostd::nvme {

struct DataPointerLimits {
    uint32_t page_size = 4096;  // CC.MPS
    // SGL descriptors (data blocks, segments) walked per command, whatever their kind.
    uint32_t max_sgl_descriptors = 512;
    bool allow_sgl = true;  // I/O commands; admin commands use PRPs only
};

// Maps the `length` bytes the command's data pointer describes (PRPs or an SGL, by PSDT) to
// iovecs at the front of `out`; returns how many were used (0 for length 0). Contiguous
// pieces are merged. Errors are the completion statuses the specification names.
std::expected<size_t, Status> map_data(const guest_memory::GuestMemory& memory,
                                       const nvme_spec::Command& command, uint64_t length,
                                       std::span<iovec> out, const DataPointerLimits& limits);

// 4.3: PRP1 and PRP2 (a second page or a PRP list) for `length` bytes.
std::expected<size_t, Status> map_prps(const guest_memory::GuestMemory& memory, uint64_t prp1,
                                       uint64_t prp2, uint64_t length, uint32_t page_size,
                                       std::span<iovec> out);

// 4.4: an SGL starting with `first` (SGL descriptor 1 of the command) for `length` bytes.
std::expected<size_t, Status> map_sgl(const guest_memory::GuestMemory& memory,
                                      const nvme_spec::SglDescriptor& first, uint64_t length,
                                      std::span<iovec> out, uint32_t max_descriptors);

// Appends translated guest ranges to an iovec span, merging a range that continues the last
// iovec in host memory.
class IovecBuilder {
  public:
    explicit IovecBuilder(std::span<iovec> out) : out_(out) {}
    // Status::kDataTransferError if part of the range is not guest memory or `out` is full.
    [[nodiscard]] Status add(const guest_memory::GuestMemory& memory, uint64_t gpa, uint64_t len);
    [[nodiscard]] size_t count() const { return used_; }

  private:
    std::span<iovec> out_;
    size_t used_ = 0;
};

}  // namespace vhostd::nvme

// MallocMemory: the zero-filled anonymous mapping behind a malloc bdev, shared by the bdev and
// its channels so a removed bdev's memory lives until the last channel is gone.
#pragma once

#include <cstdint>
#include <memory>

#include "base/error.hpp"

namespace vhostd::block {

class MallocMemory {
  public:
    // Maps `size` bytes of private anonymous memory, zero-filled by the kernel: on reserved
    // huge pages if the host has them, else asking for transparent huge pages.
    static Result<std::shared_ptr<MallocMemory>> allocate(uint64_t size);
    ~MallocMemory();
    MallocMemory(const MallocMemory&) = delete;
    MallocMemory& operator=(const MallocMemory&) = delete;

    [[nodiscard]] uint8_t* data() const noexcept { return data_; }
    [[nodiscard]] uint64_t size() const noexcept { return size_; }

    // Zeroes [offset, offset + length) (the caller checked the range). Large ranges give their
    // whole pages back to the kernel, so discarding a RAM disk frees host memory.
    void zero(uint64_t offset, uint64_t length) noexcept;

  private:
    MallocMemory(uint8_t* data, uint64_t size, uint64_t page)
        : data_(data), size_(size), page_(page) {}

    uint8_t* const data_;
    const uint64_t size_;
    const uint64_t page_;  // of the mapping: 4 KiB, or 2 MiB on hugetlb
};

}  // namespace vhostd::block

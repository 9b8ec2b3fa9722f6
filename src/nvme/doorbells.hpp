// Doorbells: BAR0's doorbell page (0x1000, 4 KiB) as shared memory (a memfd the controller
// maps and, in mapped mode, offers the client as a sparse mmap area), and the accessors for
// 32-bit doorbell slots that another party writes concurrently (the client through its
// mapping, the driver through a shadow doorbell buffer in guest memory). Loads are acquire,
// so a tail read is ordered before the reads of the entries it announces.
#pragma once

#include <atomic>
#include <cstdint>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace vhostd::nvme {

inline uint32_t load_doorbell(const uint32_t* slot) noexcept {
    return std::atomic_ref<uint32_t>(*const_cast<uint32_t*>(slot)).load(std::memory_order_acquire);
}
inline void store_doorbell(uint32_t* slot, uint32_t value) noexcept {
    std::atomic_ref<uint32_t>(*slot).store(value, std::memory_order_release);
}

class DoorbellPage {
  public:
    static constexpr uint32_t kSize = 4096;
    static constexpr uint32_t kSlots = kSize / sizeof(uint32_t);  // 256 queue pairs
    // The page sits at the same offset in the memfd as in BAR0, so the region's mmap offset
    // is the BAR offset itself (the file's first page is unused).
    static constexpr uint64_t kFileOffset = 0x1000;

    static Result<DoorbellPage> create();
    DoorbellPage(DoorbellPage&& other) noexcept;
    DoorbellPage& operator=(DoorbellPage&&) = delete;
    DoorbellPage(const DoorbellPage&) = delete;
    ~DoorbellPage();

    [[nodiscard]] int fd() const { return fd_.get(); }
    [[nodiscard]] uint32_t* slot(uint32_t index) const { return words_ + index; }
    [[nodiscard]] uint32_t load(uint32_t index) const noexcept {
        return load_doorbell(words_ + index);
    }
    void store(uint32_t index, uint32_t value) noexcept { store_doorbell(words_ + index, value); }
    // Every slot back to zero (controller reset).
    void clear() noexcept;

  private:
    DoorbellPage(UniqueFd fd, uint32_t* words) : fd_(std::move(fd)), words_(words) {}
    UniqueFd fd_;
    uint32_t* words_;
};

}  // namespace vhostd::nvme

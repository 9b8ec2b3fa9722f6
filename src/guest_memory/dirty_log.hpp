// DirtyLog: the live-migration dirty log a vhost-user frontend shares with
// VHOST_USER_SET_LOG_BASE (PROTOCOL_F_LOG_SHMFD): one bit per 4 KiB page of guest-physical
// memory, bit 0 for page 0, set by every reactor that writes guest memory and read and cleared
// by the frontend concurrently. Bits are set with atomic ORs on 64-bit words.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "guest_memory/fault_guard.hpp"

namespace vhostd::guest_memory {

class DirtyLog {
  public:
    // vhost-user.rst "Migration": VHOST_LOG_PAGE.
    static constexpr uint64_t kPageSize = 0x1000;
    // The largest log we map: 1 GiB of bits covers 32 TiB of guest-physical space, more than a
    // guest has; a larger size is a hostile or broken frontend (it would cost address space).
    static constexpr uint64_t kMaxSize = uint64_t{1} << 30;

    using Ptr = std::shared_ptr<const DirtyLog>;

    // Maps `size` bytes at `offset` of `fd` shared and read-write. Refused (CVE-2020-10722 was
    // the absence of these): an fd that is not a regular file or memfd, size 0 or above
    // kMaxSize, an offset that is not 8-byte aligned (the bitmap is updated in 64-bit words),
    // and a range offset + size that wraps or lies past the file's size (fstat): touching it
    // would raise SIGBUS. The mapping is SIGBUS-guarded like guest RAM (the frontend can still
    // truncate the file later).
    static Result<Ptr> map(UniqueFd fd, uint64_t size, uint64_t offset);
    // A log over `size` bytes of caller memory (8-byte aligned), kept alive by the caller.
    static Ptr borrow(void* bitmap, uint64_t size);

    ~DirtyLog();
    DirtyLog(const DirtyLog&) = delete;
    DirtyLog& operator=(const DirtyLog&) = delete;

    [[nodiscard]] uint64_t size() const { return size_; }
    // Pages the log has a bit for.
    [[nodiscard]] uint64_t pages() const { return size_ * 8; }
    // True if every page of [gpa, gpa + len) has a bit (len 0: true).
    [[nodiscard]] bool covers(uint64_t gpa, uint64_t len) const;

    // Marks every page of guest-physical [gpa, gpa + len) dirty. Pages past the end of the log
    // are not marked (nothing outside the mapping is touched): false then, and the miss is
    // counted. Any thread, concurrently with other markers and the frontend.
    bool mark(uint64_t gpa, uint64_t len) const noexcept;

    // Marks that fell (partly) outside the log since it was mapped.
    [[nodiscard]] uint64_t misses() const noexcept {
        return misses_.load(std::memory_order_relaxed);
    }
    // The log's file was cut off under the mapping (fault_guard.hpp): marks since may be lost.
    [[nodiscard]] bool faulted() const noexcept { return guard_.faulted(); }

  private:
    DirtyLog(UniqueFd fd, void* map_base, size_t map_length, uint8_t* bitmap, uint64_t size,
             GuardedRange guard);

    void or_word(uint64_t word, uint64_t mask) const noexcept;

    UniqueFd fd_;
    void* map_base_;  // nullptr for borrowed memory
    size_t map_length_;
    uint8_t* bitmap_;
    uint64_t size_;
    GuardedRange guard_;  // unregistered before the mapping goes (destructor)
    mutable std::atomic<uint64_t> misses_{0};
};

}  // namespace vhostd::guest_memory

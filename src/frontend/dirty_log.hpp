// DirtyLog: the frontend's side of the vhost-user dirty log, what QEMU allocates for a live
// migration: a memfd with one bit per 4 KiB page of guest-physical memory (vhost-user.rst
// "Migration"), handed to the back-end with SET_LOG_BASE (BlkClient::start_logging), read and
// cleared here as QEMU's migration sync does (an atomic exchange per 64-bit word).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "spec/vhost_user.hpp"

namespace vhostd::frontend {

class DirtyLog {
  public:
    // A log covering guest-physical [0, gpa_end), placed `offset` bytes (a multiple of 8) into
    // its memfd.
    static Result<DirtyLog> create(uint64_t gpa_end, uint64_t offset = 0);

    DirtyLog(DirtyLog&& other) noexcept;
    DirtyLog& operator=(DirtyLog&& other) noexcept;
    DirtyLog(const DirtyLog&) = delete;
    DirtyLog& operator=(const DirtyLog&) = delete;
    ~DirtyLog();

    [[nodiscard]] int fd() const { return fd_.get(); }
    // SET_LOG_BASE's payload.
    [[nodiscard]] vhost_user::LogDescription wire() const { return {size_, offset_}; }
    [[nodiscard]] uint64_t pages() const { return size_ * 8; }

    [[nodiscard]] bool dirty(uint64_t page) const;
    // Every page marked, in order.
    [[nodiscard]] std::vector<uint64_t> dirty_pages() const;
    // Every page marked since the last take, clearing them (a back-end may be marking
    // concurrently: nothing it sets is lost).
    std::vector<uint64_t> take_dirty();

  private:
    DirtyLog(UniqueFd fd, void* map, size_t map_length, uint64_t size, uint64_t offset);
    [[nodiscard]] uint64_t* words() const;
    void release();

    UniqueFd fd_;
    void* map_ = nullptr;
    size_t map_length_ = 0;
    uint64_t size_ = 0;  // bytes of bitmap, a multiple of 8
    uint64_t offset_ = 0;
};

}  // namespace vhostd::frontend

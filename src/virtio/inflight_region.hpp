// InflightRegion: the shared buffer in which a device records which requests are in flight, so
// that a restarted device can resubmit them (vhost-user.rst "Inflight I/O tracking"; the
// layouts are in spec/vhost_user_inflight.hpp). The device creates it; the frontend keeps its
// fd across device restarts and hands it back. Mapped like guest RAM: shared, in the SIGBUS
// guard's table (a frontend may truncate the file), never trusted when read back.
//
// Transport-neutral: vhost-user's GET/SET_INFLIGHT_FD create and adopt it; queues use one
// queue's slice each (InflightSlot) through SplitInflight / PackedInflight.
#pragma once

#include <cstdint>
#include <memory>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "guest_memory/region.hpp"

namespace vhostd::virtio {

enum class InflightLayout : uint8_t { split, packed };

class InflightRegion {
  public:
    // Bytes of one queue's slice.
    [[nodiscard]] static uint64_t queue_bytes(InflightLayout layout, uint16_t queue_size);

    // A zeroed region for `num_queues` queues of `queue_size` entries (both >= 1, queue_size
    // <= 32768) in a memfd sealed against resizing.
    static Result<std::shared_ptr<InflightRegion>> create(InflightLayout layout,
                                                          uint16_t num_queues, uint16_t queue_size);
    // A frontend's region: `mmap_size` bytes at `mmap_offset` in `fd`, which must be exactly
    // num_queues slices of queue_size entries, 64-byte aligned, inside the file. Each slice's
    // header must be uninitialized (version 0) or this layout's version for this queue size;
    // entries are checked when a queue attaches to its slice.
    static Result<std::shared_ptr<InflightRegion>> adopt(InflightLayout layout, UniqueFd fd,
                                                         uint64_t mmap_size, uint64_t mmap_offset,
                                                         uint16_t num_queues, uint16_t queue_size);
    // A region over memory the caller owns (tests, fuzzers): num_queues * queue_bytes bytes,
    // 8-byte aligned, checked as adopt() does.
    static Result<std::shared_ptr<InflightRegion>> borrow(InflightLayout layout, void* memory,
                                                          uint16_t num_queues, uint16_t queue_size);

    [[nodiscard]] InflightLayout layout() const { return layout_; }
    [[nodiscard]] uint16_t num_queues() const { return num_queues_; }
    [[nodiscard]] uint16_t queue_size() const { return queue_size_; }
    [[nodiscard]] uint64_t mmap_size() const { return region_->size(); }
    [[nodiscard]] uint64_t mmap_offset() const { return region_->descriptor().mmap_offset; }
    // The region's file (-1 for borrowed memory); the transport duplicates it to hand it over.
    [[nodiscard]] int fd() const { return region_->fd(); }
    // Start of queue `index`'s slice.
    [[nodiscard]] uint8_t* queue(uint16_t index) const {
        return region_->host() + uint64_t{index} * queue_bytes(layout_, queue_size_);
    }
    // The frontend cut the file short under the mapping: what was recorded since is lost, so
    // nothing more may be acknowledged. Any thread.
    [[nodiscard]] bool faulted() const noexcept { return region_->faulted(); }
    // The file cannot shrink, so no fault can happen.
    [[nodiscard]] bool sealed() const { return region_->sealed(); }

  private:
    InflightRegion(InflightLayout layout, std::shared_ptr<const guest_memory::MappedRegion> region,
                   uint16_t num_queues, uint16_t queue_size)
        : layout_(layout),
          region_(std::move(region)),
          num_queues_(num_queues),
          queue_size_(queue_size) {}
    [[nodiscard]] Result<void> check_headers() const;

    InflightLayout layout_;
    std::shared_ptr<const guest_memory::MappedRegion> region_;
    uint16_t num_queues_;
    uint16_t queue_size_;
};

// One queue's slice of a region, as a started queue receives it (empty: not tracked).
struct InflightSlot {
    std::shared_ptr<const InflightRegion> region;
    uint16_t queue = 0;

    explicit operator bool() const { return region != nullptr; }
    [[nodiscard]] uint8_t* base() const { return region->queue(queue); }
};

}  // namespace vhostd::virtio

// InflightRegion: creating, adopting and header-checking the inflight buffer.
#include "virtio/inflight_region.hpp"

#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "spec/vhost_user_inflight.hpp"
#include "spec/virtio.hpp"

namespace vhostd::virtio {

namespace inflight = vhost_user::inflight;

namespace {

Result<void> check_geometry(uint16_t num_queues, uint16_t queue_size) {
    // vhost-user.rst "Inflight description": queue size and count come from the frontend; a
    // queue has 1..2^15 entries (2.7, 2.8).
    if (num_queues == 0 || queue_size == 0 || queue_size > kMaxPackedQueueSize) {
        return make_error(EINVAL, "inflight region for {} queues of {} entries", num_queues,
                          queue_size);
    }
    return {};
}

}  // namespace

uint64_t InflightRegion::queue_bytes(InflightLayout layout, uint16_t queue_size) {
    return layout == InflightLayout::split ? inflight::split_queue_region_bytes(queue_size)
                                           : inflight::packed_queue_region_bytes(queue_size);
}

Result<std::shared_ptr<InflightRegion>> InflightRegion::create(InflightLayout layout,
                                                               uint16_t num_queues,
                                                               uint16_t queue_size) {
    VHOSTD_TRY(check_geometry(num_queues, queue_size));
    const uint64_t size = uint64_t{num_queues} * queue_bytes(layout, queue_size);
    UniqueFd fd(::memfd_create("vhostd-inflight", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd) {
        return errno_error("memfd_create for the inflight region");
    }
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
        return errno_error("sizing the inflight region");
    }
    // Sealed as QEMU seals guest RAM: neither side can cut it short under the other's mapping.
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
        return errno_error("sealing the inflight region");
    }
    // A fresh memfd reads as zeroes: every slice is "uninitialized" (version 0).
    return adopt(layout, std::move(fd), size, 0, num_queues, queue_size);
}

Result<std::shared_ptr<InflightRegion>> InflightRegion::adopt(InflightLayout layout, UniqueFd fd,
                                                              uint64_t mmap_size,
                                                              uint64_t mmap_offset,
                                                              uint16_t num_queues,
                                                              uint16_t queue_size) {
    VHOSTD_TRY(check_geometry(num_queues, queue_size));
    const uint64_t expected = uint64_t{num_queues} * queue_bytes(layout, queue_size);
    if (mmap_size != expected) {
        return make_error(EINVAL,
                          "inflight region of {} bytes; {} queues of {} entries ({} layout) take "
                          "{} bytes",
                          mmap_size, num_queues, queue_size,
                          layout == InflightLayout::split ? "split" : "packed", expected);
    }
    // The layouts hold naturally aligned 64-bit fields and are read in place.
    if (mmap_offset % inflight::kQueueAlign != 0) {
        return make_error(EINVAL, "inflight region at offset {:#x} is not {}-byte aligned",
                          mmap_offset, inflight::kQueueAlign);
    }
    // Mapped (and guarded, and checked to lie inside its file) as guest RAM is.
    auto mapped = VHOSTD_TRY(guest_memory::MappedRegion::map(
        std::move(fd), guest_memory::RegionDescriptor{0, mmap_size, 0, mmap_offset}));
    std::shared_ptr<InflightRegion> region(
        new InflightRegion(layout, std::move(mapped), num_queues, queue_size));
    VHOSTD_TRY(region->check_headers());
    return region;
}

Result<std::shared_ptr<InflightRegion>> InflightRegion::borrow(InflightLayout layout, void* memory,
                                                               uint16_t num_queues,
                                                               uint16_t queue_size) {
    VHOSTD_TRY(check_geometry(num_queues, queue_size));
    if (reinterpret_cast<uintptr_t>(memory) % alignof(uint64_t) != 0) {
        return make_error(EINVAL, "borrowed inflight memory is not 8-byte aligned");
    }
    const uint64_t size = uint64_t{num_queues} * queue_bytes(layout, queue_size);
    std::shared_ptr<InflightRegion> region(
        new InflightRegion(layout, guest_memory::MappedRegion::borrow(memory, {0, size, 0, 0}),
                           num_queues, queue_size));
    VHOSTD_TRY(region->check_headers());
    return region;
}

Result<void> InflightRegion::check_headers() const {
    for (uint16_t q = 0; q < num_queues_; ++q) {
        // Copied out once: the frontend may be writing the region while we look.
        uint16_t version;
        uint16_t desc_num;
        static_assert(offsetof(inflight::SplitHeader, version) ==
                          offsetof(inflight::PackedHeader, version) &&
                      offsetof(inflight::SplitHeader, desc_num) ==
                          offsetof(inflight::PackedHeader, desc_num));
        std::memcpy(&version, queue(q) + offsetof(inflight::SplitHeader, version), 2);
        std::memcpy(&desc_num, queue(q) + offsetof(inflight::SplitHeader, desc_num), 2);
        // vhost-user.rst: version 0 is an uninitialized buffer, 1 the current layout, whose
        // desc_num is the queue size.
        if (version == 0) {
            continue;
        }
        if (version != inflight::kVersion) {
            return make_error(EINVAL, "inflight region of queue {}: unknown version {}", q,
                              version);
        }
        if (desc_num != queue_size_) {
            return make_error(EINVAL, "inflight region of queue {}: {} entries for a queue of {}",
                              q, desc_num, queue_size_);
        }
    }
    if (faulted()) {
        return make_error(EFAULT, "the inflight region's file is shorter than announced");
    }
    return {};
}

}  // namespace vhostd::virtio

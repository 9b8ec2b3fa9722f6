// Session: inflight I/O tracking (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD): GET_INFLIGHT_FD
// creates the region, SET_INFLIGHT_FD adopts the one the frontend kept from before our
// restart. The region's layout and recovery live in virtio/ (InflightRegion, SplitInflight,
// PackedInflight); this is only the message handling.
#include <cstring>

#include <fcntl.h>

#include "base/log.hpp"
#include "spec/virtio.hpp"
#include "vhost_user/session.hpp"

namespace vhostd::vhost_user {

using virtio::bit;

namespace {

// The inflight description as QEMU and DPDK send it (24 bytes, their padded C struct), or as
// vhost-user.rst lists its fields (20).
Result<Inflight> inflight_payload(const Message& m) {
    if (m.header.size != sizeof(Inflight) && m.header.size != kInflightUnpaddedSize) {
        return make_error(EINVAL, "{}: payload of {} bytes, expected {} (or {})", m.name(),
                          m.header.size, sizeof(Inflight), kInflightUnpaddedSize);
    }
    Inflight desc{};
    std::memcpy(&desc, m.payload.data(), m.header.size);
    return desc;
}

// vhost-user.rst "Inflight description": the frontend names the queue count and size; both
// are the device's to bound.
Result<void> check_inflight_geometry(const Inflight& desc, size_t num_rings,
                                     uint16_t max_queue_size) {
    const uint32_t max = std::min<uint32_t>(max_queue_size, virtio::kMaxPackedQueueSize);
    if (desc.num_queues == 0 || desc.num_queues > num_rings) {
        return make_error(EINVAL, "inflight region for {} queues (the device has {})",
                          desc.num_queues, num_rings);
    }
    if (desc.queue_size == 0 || desc.queue_size > max) {
        return make_error(EINVAL, "inflight region for queues of {} entries (1..{} allowed)",
                          desc.queue_size, max);
    }
    return {};
}

}  // namespace

virtio::InflightLayout Session::inflight_layout() const {
    return packed_ring() ? virtio::InflightLayout::packed : virtio::InflightLayout::split;
}

virtio::InflightSlot Session::inflight_slot(uint16_t index) const {
    if (!inflight_ || index >= inflight_->num_queues()) {
        return {};
    }
    return virtio::InflightSlot{inflight_, index};
}

Result<Session::Step> Session::get_inflight_fd(const Message& m) {
    if ((acked_protocol_features_ & bit(protocol_feature::kInflightShmfd)) == 0) {
        return make_error(EINVAL, "GET_INFLIGHT_FD without PROTOCOL_F_INFLIGHT_SHMFD");
    }
    const auto desc = VHOSTD_TRY(inflight_payload(m));
    VHOSTD_TRY(m.expect_fds(0));
    VHOSTD_TRY(check_inflight_geometry(desc, vrings_.size(), device_.max_queue_size()));
    // Queues record into the region they started with; a new one is for rings not running.
    if (!running_rings().empty()) {
        return make_error(EBUSY, "GET_INFLIGHT_FD while rings are running");
    }
    // The layout follows the negotiated features (QEMU sends SET_FEATURES first).
    auto region = VHOSTD_TRY(
        virtio::InflightRegion::create(inflight_layout(), desc.num_queues, desc.queue_size));
    Message reply = Message::reply_with(
        Request::get_inflight_fd,
        Inflight{region->mmap_size(), region->mmap_offset(), desc.num_queues, desc.queue_size, 0});
    UniqueFd copy(::fcntl(region->fd(), F_DUPFD_CLOEXEC, 0));
    if (!copy) {
        return errno_error("duplicating the inflight region's fd");
    }
    reply.fds.push_back(std::move(copy));
    // In use at once (QEMU hands it straight back with SET_INFLIGHT_FD; a frontend that does
    // not still gets its requests tracked).
    inflight_ = std::move(region);
    LOG_RATELIMITED(vhost_user, info, "{}: inflight region for {} queues of {} entries ({})",
                    options_.name, desc.num_queues, desc.queue_size,
                    packed_ring() ? "packed" : "split");
    return now(std::move(reply));
}

Result<Session::Step> Session::set_inflight_fd(Message& m) {
    if ((acked_protocol_features_ & bit(protocol_feature::kInflightShmfd)) == 0) {
        return make_error(EINVAL, "SET_INFLIGHT_FD without PROTOCOL_F_INFLIGHT_SHMFD");
    }
    const auto desc = VHOSTD_TRY(inflight_payload(m));
    VHOSTD_TRY(m.expect_fds(1));
    VHOSTD_TRY(check_inflight_geometry(desc, vrings_.size(), device_.max_queue_size()));
    if (!running_rings().empty()) {
        return make_error(EBUSY, "SET_INFLIGHT_FD while rings are running");
    }
    // Size, offset, file extent and every queue's header are checked here; each queue checks
    // its entries (against its ring) when it starts, and refuses a slice that does not hold up.
    auto region = VHOSTD_TRY(virtio::InflightRegion::adopt(inflight_layout(), std::move(m.fds[0]),
                                                           desc.mmap_size, desc.mmap_offset,
                                                           desc.num_queues, desc.queue_size));
    if (!region->sealed()) {
        LOG_RATELIMITED(vhost_user, warn,
                        "{}: the inflight region is not sealed against shrinking; if the "
                        "frontend truncates it, the device stops with NEEDS_RESET",
                        options_.name);
    }
    inflight_ = std::move(region);
    LOG_RATELIMITED(vhost_user, info, "{}: inflight region adopted ({} queues of {} entries, {})",
                    options_.name, desc.num_queues, desc.queue_size,
                    packed_ring() ? "packed" : "split");
    return now();
}

}  // namespace vhostd::vhost_user

// Session: dirty logging for live migration (vhost-user.rst "Migration", PROTOCOL_F_LOG_SHMFD):
// SET_LOG_BASE maps the frontend's log, SET_LOG_FD takes its eventfd, and VHOST_F_LOG_ALL
// (SET_FEATURES) and VHOST_VRING_F_LOG (SET_VRING_ADDR) turn logging on and off. The log
// itself is guest_memory::DirtyLog; the queues mark into it (virtio::RunningQueue).
//
// A running queue holds the log it was started with, so every change of what a queue logs
// (LOG_ALL on or off, a new log, a ring's F_LOG) stops the affected rings, waits for their
// requests in flight, and restarts them where they stopped; the reply goes out after the
// restart, so once QEMU has its ack every write is logged. The spec lets a back-end take its
// time here: QEMU waits for the reply (REPLY_ACK, or GET_FEATURES as a barrier).
#include "base/event_fd.hpp"
#include "base/log.hpp"
#include "spec/virtio.hpp"
#include "vhost_user/session.hpp"

namespace vhostd::vhost_user {

using virtio::bit;

bool Session::logging_all() const {
    return (acked_features_ & bit(kFeatureLogAll)) != 0;
}

Result<Session::Step> Session::set_log_base(Message& m) {
    // Spec SET_LOG_BASE: with LOG_SHMFD the log is shared memory: a log description payload
    // and one fd. Without it the payload would be an address in the kernel vhost's caller's
    // memory, which a separate process cannot use.
    if ((acked_protocol_features_ & bit(protocol_feature::kLogShmfd)) == 0) {
        return make_error(ENOTSUP, "SET_LOG_BASE without PROTOCOL_F_LOG_SHMFD");
    }
    const auto desc = VHOSTD_TRY(m.payload_as<LogDescription>());
    // Copies: the wire struct is packed, and formatting binds references.
    const uint64_t size = desc.mmap_size;
    const uint64_t offset = desc.mmap_offset;
    VHOSTD_TRY(m.expect_fds(1));
    // Size and offset are checked against the fd (DirtyLog::map), CVE-2020-10722's lesson.
    auto log = VHOSTD_TRY(guest_memory::DirtyLog::map(std::move(m.fds[0]), size, offset));
    // "Migration": the log covers guest addresses from 0 to the end of the highest region.
    if (!log->covers(0, memory_->gpa_end())) {
        return make_error(EINVAL,
                          "SET_LOG_BASE: a log of {:#x} bytes covers {:#x} pages, guest memory "
                          "ends at {:#x}",
                          size, log->pages(), memory_->gpa_end());
    }
    LOG_RATELIMITED(vhost_user, info, "{}: dirty log of {:#x} bytes (offset {:#x}) mapped",
                    options_.name, size, offset);
    // Spec "Communication": the back-end replies to SET_LOG_BASE when LOG_SHMFD is negotiated;
    // QEMU only checks the request code.
    if (!logging_all() || running_rings().empty()) {
        log_ = std::move(log);
        start_ready_rings();  // rings that waited for a log under LOG_ALL
        return now(Message::reply_u64(Request::set_log_base, 0));
    }
    // The running rings mark into the log they started with: restart them on the new one (the
    // old one is unmapped when the last queue lets go of it).
    return after_stopping(running_rings(), [this, log = std::move(log)]() mutable -> Outcome {
        log_ = std::move(log);
        start_ready_rings();
        return Message::reply_u64(Request::set_log_base, 0);
    });
}

Result<Session::Step> Session::set_log_fd(Message& m) {
    // Spec SET_LOG_FD: an eventfd in the ancillary data, no payload; the back-end "may" signal
    // it when the log changed. We keep it and never signal it: QEMU reads the log when it
    // syncs, not on notification.
    VHOSTD_TRY(m.expect_empty());
    VHOSTD_TRY(m.expect_fds(1));
    if (auto adopted = adopt_peer_event_fd(m.fds[0].get()); !adopted) {
        return make_error(EINVAL, "SET_LOG_FD: {}", adopted.error().message);
    }
    log_call_ = std::move(m.fds[0]);
    return now();
}

Result<void> Session::add_log_config(uint16_t index, virtio::VirtqueueConfig& config) const {
    if (!logging_all()) {
        return {};  // nothing logged, nothing checked: the I/O path pays one branch
    }
    const Vring& ring = vrings_[index];
    config.log = log_;  // ready() holds rings back until a log is there
    if (!packed_ring() && (ring.addr.flags & kVringFlagLog) != 0) {
        const uint64_t log_gpa = ring.addr.log_guest_addr;  // a copy: the wire struct is packed
        // "Migration": the bit of the used ring's last byte, counted from log_guest_addr,
        // must lie within the log.
        if (!log_->covers(log_gpa, virtio::used_ring_bytes(ring.num))) {
            return make_error(EINVAL,
                              "ring {} cannot start: its used ring logged at {:#x} lies past "
                              "the dirty log",
                              index, log_gpa);
        }
        config.used_log_gpa = log_gpa;
    }
    return {};
}

}  // namespace vhostd::vhost_user

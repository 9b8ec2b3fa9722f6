// InflightFd: a frontend's copy of the back-end's inflight region (vhost-user.rst, "Inflight
// I/O tracking"), kept as QEMU keeps it: asked for once with GET_INFLIGHT_FD, then handed back
// with SET_INFLIGHT_FD on every connection, so a restarted back-end finds the requests that
// were in flight. The frontend never interprets the region.
#pragma once

#include <cstdint>

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "frontend/connection.hpp"
#include "spec/vhost_user.hpp"

namespace vhostd::frontend {

class InflightFd {
  public:
    // GET_INFLIGHT_FD for `num_queues` queues of `queue_size` entries (INFLIGHT_SHMFD must be
    // negotiated, and the ring layout's features set first: the back-end sizes the region
    // for it).
    static Result<InflightFd> get(Connection& connection, uint16_t num_queues, uint16_t queue_size);
    // SET_INFLIGHT_FD with the region.
    Result<void> set(Connection& connection) const;

    [[nodiscard]] const vhost_user::Inflight& description() const { return description_; }
    [[nodiscard]] int fd() const { return fd_.get(); }

  private:
    InflightFd(UniqueFd fd, const vhost_user::Inflight& description)
        : fd_(std::move(fd)), description_(description) {}

    UniqueFd fd_;
    vhost_user::Inflight description_;
};

}  // namespace vhostd::frontend

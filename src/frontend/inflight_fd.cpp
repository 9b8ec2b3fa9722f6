// InflightFd: GET_INFLIGHT_FD's reply checked and kept; SET_INFLIGHT_FD.
#include "frontend/inflight_fd.hpp"

#include <sys/stat.h>

namespace vhostd::frontend {

namespace vu = vhost_user;

Result<InflightFd> InflightFd::get(Connection& connection, uint16_t num_queues,
                                   uint16_t queue_size) {
    const vu::Inflight request{0, 0, num_queues, queue_size};
    Message reply = VHOSTD_TRY(
        connection.call(vu::Request::get_inflight_fd, std::as_bytes(std::span(&request, 1))));
    const auto description = VHOSTD_TRY(reply.as<vu::Inflight>());
    if (reply.fds.size() != 1) {
        return make_error(EPROTO, "GET_INFLIGHT_FD reply with {} fds", reply.fds.size());
    }
    // QEMU maps [offset, offset + size) of the fd; so does a restarted back-end.
    struct stat st {};
    if (::fstat(reply.fds[0].get(), &st) != 0) {
        return errno_error("fstat on the inflight region");
    }
    if (description.mmap_size == 0 ||
        static_cast<uint64_t>(st.st_size) < description.mmap_offset + description.mmap_size) {
        return make_error(EPROTO, "inflight region of {} bytes at {} in a file of {}",
                          description.mmap_size, description.mmap_offset, st.st_size);
    }
    return InflightFd(std::move(reply.fds[0]), description);
}

Result<void> InflightFd::set(Connection& connection) const {
    const int fd = fd_.get();
    return connection.request(vu::Request::set_inflight_fd,
                              std::as_bytes(std::span(&description_, 1)), {&fd, 1});
}

}  // namespace vhostd::frontend

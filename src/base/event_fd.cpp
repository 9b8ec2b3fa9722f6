// eventfd helpers.
#include "base/event_fd.hpp"

#include <cstdint>

#include <sys/eventfd.h>
#include <unistd.h>

namespace vhostd {

Result<UniqueFd> make_event_fd() {
    const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
        return errno_error("eventfd");
    }
    return UniqueFd(fd);
}

void signal_event_fd(int fd) noexcept {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof(one));
}

bool drain_event_fd(int fd) noexcept {
    uint64_t count = 0;
    return ::read(fd, &count, sizeof(count)) == static_cast<ssize_t>(sizeof(count)) && count != 0;
}

}  // namespace vhostd

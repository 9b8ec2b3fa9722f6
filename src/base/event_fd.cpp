// eventfd helpers.
#include "base/event_fd.hpp"

#include <array>
#include <cerrno>
#include <cstdint>
#include <string_view>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/stuck_call_watchdog.hpp"

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
    iovec iov{&count, sizeof(count)};
    // RWF_NOWAIT: EAGAIN on a zero counter whatever the file's O_NONBLOCK says.
    ssize_t n = ::preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
    if (n < 0 && errno == EOPNOTSUPP) [[unlikely]] {
        // A kernel without RWF_NOWAIT for eventfds: only files we made non-blocking get here
        // (adopt_peer_event_fd), and a peer that clears the flag again risks this one read.
        n = ::read(fd, &count, sizeof(count));
    }
    return n == static_cast<ssize_t>(sizeof(count)) && count != 0;
}

Result<void> adopt_peer_event_fd(int fd) {
    // An eventfd is an anonymous inode that /proc names "anon_inode:[eventfd]"; no other file
    // type carries that name.
    std::array<char, 64> target{};
    const std::string link = fmt::format("/proc/self/fd/{}", fd);
    const ssize_t n = ::readlink(link.c_str(), target.data(), target.size() - 1);
    if (n < 0) {
        return errno_error("inspecting a notification fd");
    }
    if (std::string_view(target.data(), static_cast<size_t>(n)) != "anon_inode:[eventfd]") {
        // What it is instead is not echoed: a file name may hold anything.
        return make_error(EINVAL, "a notification fd must be an eventfd");
    }
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
        return errno_error("making a notification eventfd non-blocking");
    }
    return {};
}

bool signal_peer_event_fd(int fd) noexcept {
    const uint64_t one = 1;
    const ssize_t n = bounded_write(fd, &one, sizeof(one));
    return n == static_cast<ssize_t>(sizeof(one)) || (n < 0 && errno == EAGAIN);
}

}  // namespace vhostd

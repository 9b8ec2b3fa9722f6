// The fds a hostile peer might pass where an eventfd or a memfd belongs, for the session
// fuzzers of both transports: memfds (maybe sealed), blocking eventfds, either end of a pipe, a
// socket, /dev/null, and proper eventfds. Each transport keeps its own menu so its corpus keeps
// meaning what it meant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/event_fd.hpp"
#include "base/unique_fd.hpp"
#include "fuzz_input.hpp"
#include "support/socket_support.hpp"

struct FdMenu {
    size_t memfd_size = 0;
    bool maybe_sealed = false;     // a memfd is sealed against resizing if the input says so
    bool either_pipe_end = false;  // pipes come as read or write ends (else read ends only)
};

inline vhostd::UniqueFd hostile_fd(FuzzInput& in, const FdMenu& menu) {
    using vhostd::UniqueFd;
    int pair[2] = {-1, -1};
    const uint8_t pick = in.byte() % (menu.either_pipe_end ? 8 : 7);
    const uint8_t pipes = menu.either_pipe_end ? 2 : 1;
    if (pick == 0) {
        const bool seal = menu.maybe_sealed && (in.byte() & 1) != 0;
        return vhostd::testing::make_memfd(menu.memfd_size, seal);
    }
    if (pick == 1) {
        return UniqueFd(::eventfd(0, EFD_CLOEXEC));  // blocking
    }
    if (pick < 2 + pipes) {
        if (::pipe2(pair, O_CLOEXEC) != 0) {
            return UniqueFd();
        }
        const int end = menu.either_pipe_end ? (in.byte() & 1) : 0;
        ::close(pair[1 - end]);
        return UniqueFd(pair[end]);
    }
    switch (pick - 2 - pipes) {
        case 0:
            if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
                return UniqueFd();
            }
            ::close(pair[1]);
            return UniqueFd(pair[0]);
        case 1:
            return UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC));
        default:
            if (auto e = vhostd::make_event_fd()) {
                return std::move(*e);
            }
            return UniqueFd();
    }
}

// Up to `count` of them (one that could not be made is left out).
inline std::vector<vhostd::UniqueFd> hostile_fds(FuzzInput& in, size_t count, const FdMenu& menu) {
    std::vector<vhostd::UniqueFd> fds;
    for (size_t i = 0; i < count; ++i) {
        if (auto fd = hostile_fd(in, menu)) {
            fds.push_back(std::move(fd));
        }
    }
    return fds;
}

// eventfds a peer controls: only eventfds are adopted; draining never blocks, even after the
// peer cleared O_NONBLOCK; a write that would block forever is broken off by the watchdog.
#include "base/event_fd.hpp"

#include <chrono>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/stuck_call_watchdog.hpp"

namespace vhostd {
namespace {

void clear_nonblock(int fd) {
    ASSERT_EQ(::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK), 0);
}

TEST(PeerEventFd, OnlyEventFdsAreAdoptedAndTheyBecomeNonBlocking) {
    UniqueFd blocking(::eventfd(0, EFD_CLOEXEC));
    ASSERT_TRUE(adopt_peer_event_fd(blocking.get()).has_value());
    EXPECT_NE(::fcntl(blocking.get(), F_GETFL) & O_NONBLOCK, 0);

    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    UniqueFd read_end(p[0]), write_end(p[1]);
    int s[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
    UniqueFd a(s[0]), b(s[1]);
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    UniqueFd dir(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    UniqueFd mem(::memfd_create("x", MFD_CLOEXEC));
    for (int fd : {read_end.get(), write_end.get(), a.get(), null.get(), dir.get(), mem.get()}) {
        auto adopted = adopt_peer_event_fd(fd);
        ASSERT_FALSE(adopted.has_value()) << fd;
        EXPECT_EQ(adopted.error().code, EINVAL);
    }
    EXPECT_FALSE(adopt_peer_event_fd(-1).has_value());
}

TEST(PeerEventFd, DrainNeverBlocksEvenWhenThePeerClearedNonBlock) {
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC));
    clear_nonblock(fd.get());
    EXPECT_FALSE(drain_event_fd(fd.get())) << "empty: returns at once";
    ASSERT_EQ(::eventfd_write(fd.get(), 3), 0);
    EXPECT_TRUE(drain_event_fd(fd.get()));
    EXPECT_FALSE(drain_event_fd(fd.get()));
}

TEST(PeerEventFd, ASignalThatWouldBlockForeverIsBrokenOff) {
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC));
    ASSERT_EQ(::eventfd_write(fd.get(), 0xfffffffffffffffeULL), 0);  // the maximum count
    UniqueFd nb(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    ASSERT_EQ(::eventfd_write(nb.get(), 0xfffffffffffffffeULL), 0);
    EXPECT_TRUE(signal_peer_event_fd(nb.get())) << "a full non-blocking counter: pending";

    const uint64_t before = stuck_calls_interrupted();
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(signal_peer_event_fd(fd.get()));
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GT(stuck_calls_interrupted(), before);
    // Bounded, not timed: the watchdog needs about kStuckAfter; anything short of "forever"
    // passes.
    EXPECT_LT(took, std::chrono::seconds(30));

    UniqueFd fine(::eventfd(0, EFD_CLOEXEC));
    EXPECT_TRUE(signal_peer_event_fd(fine.get()));
    EXPECT_TRUE(drain_event_fd(fine.get()));
}

}  // namespace
}  // namespace vhostd

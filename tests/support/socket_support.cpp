// Socket test helpers: sendmsg with SCM_RIGHTS, memfds, /proc/self/fd.
#include "support/socket_support.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "uds/fd_transfer.hpp"

namespace vhostd::testing {

SocketPair::SocketPair() {
    int fds[2] = {-1, -1};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0) {
        peer.reset(fds[0]);
        ours.reset(fds[1]);
        ::fcntl(ours.get(), F_SETFL, O_NONBLOCK);
        // A test that reads from `peer` what never comes then fails instead of hanging.
        const timeval timeout{10, 0};
        ::setsockopt(peer.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    }
}

bool send_bytes(int socket, std::span<const std::byte> bytes, std::span<const int> fds) {
    if (fds.size() > uds::kMaxFdsLimit) {
        return false;
    }
    return uds::send_with_fds(socket, bytes, fds) == static_cast<ssize_t>(bytes.size());
}

UniqueFd make_memfd(size_t size, bool seal) {
    UniqueFd fd(::memfd_create("vhostd-test-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (fd && ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
        fd.reset();
    }
    if (fd && seal && ::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
        fd.reset();
    }
    return fd;
}

size_t count_open_fds() {
    size_t count = 0;
    if (DIR* dir = ::opendir("/proc/self/fd")) {
        while (const dirent* entry = ::readdir(dir)) {
            if (entry->d_name[0] != '.') {
                ++count;
            }
        }
        ::closedir(dir);
        --count;  // the directory's own fd
    }
    return count;
}

}  // namespace vhostd::testing

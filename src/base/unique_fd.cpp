// UniqueFd: closing is out of line so that <unistd.h> stays out of the header.
#include "base/unique_fd.hpp"

#include <unistd.h>

namespace vhostd {

void UniqueFd::reset(int fd) noexcept {
    if (fd_ >= 0 && fd_ != fd) {
        ::close(fd_);
    }
    fd_ = fd;
}

}  // namespace vhostd

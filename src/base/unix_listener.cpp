// UnixListener: stale-socket detection, bind with group and mode, the file published only once
// the socket listens, and careful removal.
#include "base/unix_listener.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace vhostd {
namespace {

Result<sockaddr_un> unix_address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
        return make_error(ENAMETOOLONG, "socket path '{}' must be 1 to {} bytes", path,
                          sizeof(addr.sun_path) - 1);
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

// 0 if a process accepts connections at `addr`, else the errno of the failed connect.
int probe(const sockaddr_un& addr) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return errno;
    }
    return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0 ? 0
                                                                                            : errno;
}

// Clears the way for a new socket at `path`: nothing there, or a stale socket file removed.
Result<void> clear_path(const std::string& path, const sockaddr_un& addr) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) {
            return {};
        }
        return errno_error(fmt::format("stat of socket path '{}'", path));
    }
    if (!S_ISSOCK(st.st_mode)) {
        return make_error(EEXIST, "'{}' exists and is not a socket; not replacing it", path);
    }
    const int err = probe(addr);
    if (err == 0) {
        return make_error(EADDRINUSE, "socket {} is served by another process", path);
    }
    if (err != ECONNREFUSED) {
        // EACCES, EAGAIN (a full backlog): someone may still be there; do not take it over.
        return make_error(EADDRINUSE,
                          "socket {} exists and cannot be probed ({}); not replacing it", path,
                          std::strerror(err));
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return errno_error(fmt::format("removing stale socket '{}'", path));
    }
    return {};
}

}  // namespace

Result<gid_t> parse_group(const std::string& text) {
    if (text.empty()) {
        return make_error(EINVAL, "empty group name");
    }
    char* end = nullptr;
    errno = 0;
    const unsigned long gid = std::strtoul(text.c_str(), &end, 10);
    if (*end == '\0' && errno == 0 && gid <= 0xfffffffeUL) {
        return static_cast<gid_t>(gid);
    }
    std::vector<char> buf(16384);
    group grp{};
    group* found = nullptr;
    const int rc = ::getgrnam_r(text.c_str(), &grp, buf.data(), buf.size(), &found);
    if (rc != 0 || found == nullptr) {
        return make_error(rc != 0 ? rc : ENOENT, "no group named '{}'", text);
    }
    return found->gr_gid;
}

Result<mode_t> parse_socket_mode(const std::string& text) {
    char* end = nullptr;
    const unsigned long mode = std::strtoul(text.c_str(), &end, 8);
    if (text.empty() || *end != '\0' || mode > 0777) {
        return make_error(EINVAL, "socket mode '{}' is not an octal mode from 0 to 0777", text);
    }
    return static_cast<mode_t>(mode);
}

Result<UnixListener> UnixListener::listen(const std::string& path, const SocketFileOptions& options,
                                          int backlog) {
    const sockaddr_un addr = VHOSTD_TRY(unix_address(path));
    VHOSTD_TRY(clear_path(path, addr));
    // The file appears at `path` only once the socket listens: a client that waits for the
    // file (QEMU, libvirt, a test) and connects at once must never get ECONNREFUSED. So the
    // socket is bound under a temporary name beside it, given its group and mode, made to
    // listen, and then linked to `path` (link() fails if something appeared there meanwhile,
    // as bind() would) before the temporary name goes. A path too long for the temporary name
    // is bound directly.
    const std::string staging = fmt::format("{}.{}.tmp", path, ::getpid());
    const auto staging_addr = unix_address(staging);
    const bool staged = staging_addr.has_value();
    const sockaddr_un& bind_addr = staged ? *staging_addr : addr;
    UnixListener out;
    out.fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!out.fd_) {
        return errno_error("socket(AF_UNIX)");
    }
    if (staged) {
        ::unlink(staging.c_str());  // left by a process of the same pid that died here
    }
    if (::bind(out.fd_.get(), reinterpret_cast<const sockaddr*>(&bind_addr), sizeof(bind_addr)) !=
        0) {
        return errno_error(fmt::format("bind to '{}'", staged ? staging : path));
    }
    out.path_ = staged ? staging : path;
    struct stat st {};
    if (::stat(out.path_.c_str(), &st) == 0) {
        out.dev_ = st.st_dev;
        out.ino_ = st.st_ino;
    }
    if (options.group && ::chown(out.path_.c_str(), static_cast<uid_t>(-1), *options.group) != 0) {
        auto error =
            errno_error(fmt::format("chown of socket '{}' to group {}", path, *options.group));
        out.close();
        return error;
    }
    if (::chmod(out.path_.c_str(), options.mode) != 0) {
        auto error = errno_error(fmt::format("chmod {:o} of socket '{}'", options.mode, path));
        out.close();
        return error;
    }
    if (::listen(out.fd_.get(), backlog) != 0) {
        auto error = errno_error(fmt::format("listen on '{}'", path));
        out.close();
        return error;
    }
    if (staged) {
        if (::link(staging.c_str(), path.c_str()) != 0) {
            auto error = errno == EEXIST
                             ? make_error(EADDRINUSE, "socket {} appeared while binding it", path)
                             : errno_error(fmt::format("linking socket '{}'", path));
            out.close();
            return error;
        }
        ::unlink(staging.c_str());
        out.path_ = path;
    }
    return out;
}

UnixListener::UnixListener(UnixListener&& other) noexcept
    : fd_(std::move(other.fd_)),
      path_(std::move(other.path_)),
      dev_(std::exchange(other.dev_, 0)),
      ino_(std::exchange(other.ino_, 0)) {
    other.path_.clear();
}

UnixListener& UnixListener::operator=(UnixListener&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::move(other.fd_);
        path_ = std::move(other.path_);
        other.path_.clear();
        dev_ = std::exchange(other.dev_, 0);
        ino_ = std::exchange(other.ino_, 0);
    }
    return *this;
}

UnixListener::~UnixListener() {
    close();
}

void UnixListener::close() {
    fd_.reset();
    if (path_.empty()) {
        return;
    }
    // Only unlink the file if it is still the socket we bound (not one a successor created).
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
        ::unlink(path_.c_str());
    }
    path_.clear();
}

}  // namespace vhostd

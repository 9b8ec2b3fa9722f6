// UnixListener: the listening unix socket of every server in vhostd (controllers, RPC), with
// one policy for the socket file: a file that is not a socket is never touched; a socket file
// is replaced only when nothing listens on it any more (connect fails with ECONNREFUSED: its
// owner died); a socket another process serves is refused with EADDRINUSE and left alone. The
// new file gets the group and mode asked for, and is removed again only if it is still ours.
#pragma once

#include <optional>
#include <string>

#include <sys/types.h>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace vhostd {

// Group and mode of socket files (--socket-group, --socket-mode). The default is 0660 with the
// daemon's own group: reachable by that group's members (libvirt's QEMU user, when vhostd runs
// with its group), never world-writable unless asked.
struct SocketFileOptions {
    std::optional<gid_t> group;  // nullopt: the daemon's group
    mode_t mode = 0660;
};

// A group name or a numeric gid.
[[nodiscard]] Result<gid_t> parse_group(const std::string& text);
// An octal mode such as "0660" or "660", at most 0777.
[[nodiscard]] Result<mode_t> parse_socket_mode(const std::string& text);

class UnixListener {
  public:
    // Binds and listens on `path` (non-blocking, close-on-exec) under the policy above.
    static Result<UnixListener> listen(const std::string& path, const SocketFileOptions& options,
                                       int backlog = 16);

    UnixListener() = default;
    UnixListener(UnixListener&& other) noexcept;
    UnixListener& operator=(UnixListener&& other) noexcept;
    ~UnixListener();  // close(): removes the socket file if it is still ours

    [[nodiscard]] int fd() const { return fd_.get(); }
    [[nodiscard]] bool valid() const { return fd_.valid(); }
    [[nodiscard]] const std::string& path() const { return path_; }
    // Stops listening and removes the socket file, unless somebody replaced it since.
    void close();

  private:
    UniqueFd fd_;
    std::string path_;
    dev_t dev_ = 0;  // identity of the file we created, so that we only ever unlink our own
    ino_t ino_ = 0;
};

}  // namespace vhostd

// connect_unix: a non-blocking, close-on-exec connection to a unix stream socket, retried for
// a while when the socket is missing or refuses (a server started just before may not listen
// yet). Shared by the vhost-user and vfio-user clients.
#pragma once

#include <chrono>
#include <string>

#include "base/error.hpp"
#include "base/unique_fd.hpp"

namespace vhostd::frontend {

[[nodiscard]] Result<UniqueFd> connect_unix(const std::string& path,
                                            std::chrono::milliseconds retry_for);

}  // namespace vhostd::frontend

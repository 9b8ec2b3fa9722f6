// Error formatting helpers.
#include "base/error.hpp"

#include <cstring>

namespace vhostd {

std::string Error::describe() const {
    return fmt::format("{} ({})", message, std::strerror(code));
}

std::unexpected<Error> errno_error(std::string what) {
    const int saved = errno;
    return std::unexpected(Error{saved, std::move(what)});
}

}  // namespace vhostd

// Errors as values: Error carries an errno-style code and a human message; Result<T> is
// std::expected<T, Error>. Used on control paths; the I/O path reports statuses instead.
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace vhostd {

struct Error {
    int code = EINVAL;  // errno value that best describes the failure
    std::string message;

    // "message (strerror)" for logs and RPC replies.
    [[nodiscard]] std::string describe() const;
};

template <class T = void>
using Result = std::expected<T, Error>;

// make_error(EINVAL, "queue {} out of range", idx) -> std::unexpected<Error>, usable as a Result.
template <class... Args>
[[nodiscard]] std::unexpected<Error> make_error(int code, fmt::format_string<Args...> format,
                                                Args&&... args) {
    return std::unexpected(Error{code, fmt::format(format, std::forward<Args>(args)...)});
}

// The current errno as an Error, prefixed with what was being attempted.
[[nodiscard]] std::unexpected<Error> errno_error(std::string what);

}  // namespace vhostd

// Propagates an error from an expression returning Result<T>; evaluates to the value otherwise.
// Uses a GNU statement expression (g++ and clang) because C++ has no '?' operator.
#define VHOSTD_TRY(expr)                                                   \
    ({                                                                     \
        auto vhostd_try_result_ = (expr);                                  \
        if (!vhostd_try_result_) [[unlikely]]                              \
            return std::unexpected(std::move(vhostd_try_result_).error()); \
        std::move(vhostd_try_result_).value();                             \
    })

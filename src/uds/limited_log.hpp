// Rate-limited logging for code shared by several components' layers: base's LOG_RATELIMITED
// names its component by token; here it is a value (the transport's), and each call site keeps
// its own limiter, as there.
#pragma once

#include <chrono>
#include <cstdint>
#include <utility>

#include "base/log.hpp"

namespace vhostd::uds {

template <class... Args>
void log_limited(log::RateLimiter& limiter, log::Component component,
                 spdlog::level::level_enum level, fmt::format_string<Args...> format,
                 Args&&... args) {
    uint64_t suppressed = 0;
    if (!limiter.allow(suppressed)) {
        return;
    }
    auto& logger = log::get(component);
    if (suppressed != 0) {
        logger.log(level, "({} similar messages suppressed)", suppressed);
    }
    logger.log(level, format, std::forward<Args>(args)...);
}

}  // namespace vhostd::uds

// LOG_RATELIMITED with the component as a value: at most 10 messages per 5 s per call site.
#define UDS_LOG_LIMITED(component_value, lvl, ...)                                    \
    do {                                                                              \
        static ::vhostd::log::RateLimiter uds_limiter_{10, std::chrono::seconds(5)};  \
        ::vhostd::uds::log_limited(uds_limiter_, component_value, spdlog::level::lvl, \
                                   __VA_ARGS__);                                      \
    } while (0)

// Logging: one spdlog sink, a named logger per component, runtime levels, and a rate limiter
// for messages a guest or client can trigger at will.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <spdlog/spdlog.h>

namespace vhostd::log {

enum class Component : uint8_t {
    app,
    reactor,
    memory,
    virtio,
    vhost_user,
    block,
    virtio_blk,
    scsi,
    virtio_scsi,
    nvme,
    target,
    rpc,
    frontend,
    vfio_user,
    count_,
};

// The component's logger ("[vhost_user] ..."); created on first use, thread-safe.
spdlog::logger& get(Component component);
std::string_view name(Component component);
std::span<const std::string_view> component_names();

// Applies to every component's logger.
void set_level(spdlog::level::level_enum level);
spdlog::level::level_enum level();
// Parses SPDK-style level names (ERROR, WARNING, NOTICE, INFO, DEBUG) and spdlog's own.
std::optional<spdlog::level::level_enum> parse_level(std::string_view text);

// Lets through at most `burst` messages per `interval`; counts what it suppressed so the next
// message that passes can say so. Lock-free; one instance per call site.
class RateLimiter {
  public:
    constexpr RateLimiter(uint32_t burst, std::chrono::milliseconds interval)
        : burst_(burst), interval_ns_(std::chrono::nanoseconds(interval).count()) {}

    // Returns true if this message may be logged; `suppressed` receives the count dropped since
    // the previous window.
    bool allow(uint64_t& suppressed) noexcept;

  private:
    const uint32_t burst_;
    const int64_t interval_ns_;
    std::atomic<int64_t> window_start_{0};
    std::atomic<uint32_t> in_window_{0};
    std::atomic<uint64_t> suppressed_{0};
};

}  // namespace vhostd::log

#define VHOSTD_LOG(component, lvl, ...) \
    ::vhostd::log::get(::vhostd::log::Component::component).log(spdlog::level::lvl, __VA_ARGS__)
#define LOG_TRACE(component, ...) VHOSTD_LOG(component, trace, __VA_ARGS__)
#define LOG_DEBUG(component, ...) VHOSTD_LOG(component, debug, __VA_ARGS__)
#define LOG_INFO(component, ...) VHOSTD_LOG(component, info, __VA_ARGS__)
#define LOG_WARN(component, ...) VHOSTD_LOG(component, warn, __VA_ARGS__)
#define LOG_ERROR(component, ...) VHOSTD_LOG(component, err, __VA_ARGS__)

// For anything a guest or a client can provoke: at most 10 messages per 5 s per call site.
#define LOG_RATELIMITED(component, lvl, ...)                                                \
    do {                                                                                    \
        static ::vhostd::log::RateLimiter vhostd_rl_{10, std::chrono::seconds(5)};          \
        uint64_t vhostd_suppressed_ = 0;                                                    \
        if (vhostd_rl_.allow(vhostd_suppressed_)) {                                         \
            auto& vhostd_logger_ = ::vhostd::log::get(::vhostd::log::Component::component); \
            if (vhostd_suppressed_ != 0) {                                                  \
                vhostd_logger_.log(spdlog::level::lvl, "({} similar messages suppressed)",  \
                                   vhostd_suppressed_);                                     \
            }                                                                               \
            vhostd_logger_.log(spdlog::level::lvl, __VA_ARGS__);                            \
        }                                                                                   \
    } while (0)

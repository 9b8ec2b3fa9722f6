// Logging: one stderr sink, a named logger per component, runtime levels, and a rate limiter
// for messages a guest or client can trigger at will. The level check is inline and comes
// before any argument is formatted; spdlog, which writes the lines, stays inside log.cpp (its
// header alone costs seconds of compile time in every file that logs).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include <fmt/format.h>

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

// spdlog's levels, in its order (a message at `off` is never written).
enum class Level : uint8_t { trace, debug, info, warn, err, critical, off };

std::string_view name(Component component);
std::span<const std::string_view> component_names();

// Applies to every component.
void set_level(Level level);
// The level set_level last set (a component may differ from it: set_component_level).
Level level();
void set_component_level(Component component, Level level);
Level component_level(Component component);
// Parses SPDK-style level names (ERROR, WARNING, NOTICE, INFO, DEBUG) and spdlog's own.
std::optional<Level> parse_level(std::string_view text);

namespace detail {

// One component's threshold, read on every log call; relaxed, since a level change need only
// take effect soon. Constant-initialized, so logging works before main().
struct Threshold {
    std::atomic<Level> value{Level::info};
};
inline std::array<Threshold, static_cast<size_t>(Component::count_)> g_thresholds{};

// Formats and writes one line (log.cpp: the spdlog logger of the component).
void vwrite(Component component, Level level, fmt::string_view format, fmt::format_args args);

}  // namespace detail

inline bool enabled(Component component, Level level) noexcept {
    return level >= detail::g_thresholds[static_cast<size_t>(component)].value.load(
                        std::memory_order_relaxed);
}

template <class... Args>
void write(Component component, Level level, fmt::format_string<Args...> format, Args&&... args) {
    if (enabled(component, level)) {
        detail::vwrite(component, level, format, fmt::make_format_args(args...));
    }
}

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

// write() through `limiter`, saying first how many messages it suppressed since the last one.
template <class... Args>
void write_limited(RateLimiter& limiter, Component component, Level level,
                   fmt::format_string<Args...> format, Args&&... args) {
    uint64_t suppressed = 0;
    if (!enabled(component, level) || !limiter.allow(suppressed)) {
        return;
    }
    if (suppressed != 0) {
        write(component, level, "({} similar messages suppressed)", suppressed);
    }
    write(component, level, format, std::forward<Args>(args)...);
}

}  // namespace vhostd::log

#define VHOSTD_LOG(component, lvl, ...)                                                  \
    ::vhostd::log::write(::vhostd::log::Component::component, ::vhostd::log::Level::lvl, \
                         __VA_ARGS__)
#define LOG_TRACE(component, ...) VHOSTD_LOG(component, trace, __VA_ARGS__)
#define LOG_DEBUG(component, ...) VHOSTD_LOG(component, debug, __VA_ARGS__)
#define LOG_INFO(component, ...) VHOSTD_LOG(component, info, __VA_ARGS__)
#define LOG_WARN(component, ...) VHOSTD_LOG(component, warn, __VA_ARGS__)
#define LOG_ERROR(component, ...) VHOSTD_LOG(component, err, __VA_ARGS__)

// For anything a guest or a client can provoke: at most 10 messages per 5 s per call site
// (messages below the component's level are dropped before they count). The _AS form takes
// the component as a value (code shared by several components, such as the uds servers).
#define LOG_RATELIMITED_AS(component_value, lvl, ...)                                        \
    do {                                                                                     \
        static ::vhostd::log::RateLimiter vhostd_rl_{10, std::chrono::seconds(5)};           \
        ::vhostd::log::write_limited(vhostd_rl_, component_value, ::vhostd::log::Level::lvl, \
                                     __VA_ARGS__);                                           \
    } while (0)
#define LOG_RATELIMITED(component, lvl, ...) \
    LOG_RATELIMITED_AS(::vhostd::log::Component::component, lvl, __VA_ARGS__)

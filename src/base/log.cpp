// Component loggers sharing one thread-safe stderr sink (spdlog). Levels are filtered by the
// thresholds in log.hpp before a message gets here; spdlog's own loggers let everything pass.
#include "base/log.hpp"

#include <array>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace vhostd::log {
namespace {

constexpr std::array<std::string_view, static_cast<size_t>(Component::count_)> kNames = {
    "app",  "reactor",     "memory", "virtio", "vhost_user", "block",    "virtio_blk",
    "scsi", "virtio_scsi", "nvme",   "target", "rpc",        "frontend", "vfio_user",
};

struct Registry {
    std::shared_ptr<spdlog::sinks::stderr_color_sink_mt> sink =
        std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    std::array<std::shared_ptr<spdlog::logger>, kNames.size()> loggers;
    std::atomic<Level> level{Level::info};

    Registry() {
        sink->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] [%n] %v");
        for (size_t i = 0; i < kNames.size(); ++i) {
            loggers[i] = std::make_shared<spdlog::logger>(std::string(kNames[i]), sink);
            loggers[i]->set_level(spdlog::level::trace);
        }
    }
};

Registry& registry() {
    static Registry r;
    return r;
}

// Level's values are spdlog's, in the same order.
static_assert(static_cast<int>(Level::trace) == spdlog::level::trace);
static_assert(static_cast<int>(Level::err) == spdlog::level::err);
static_assert(static_cast<int>(Level::off) == spdlog::level::off);

}  // namespace

namespace detail {

void vwrite(Component component, Level level, fmt::string_view format, fmt::format_args args) {
    fmt::memory_buffer line;
    fmt::vformat_to(std::back_inserter(line), format, args);
    registry().loggers[static_cast<size_t>(component)]->log(
        static_cast<spdlog::level::level_enum>(level), std::string_view(line.data(), line.size()));
}

}  // namespace detail

std::string_view name(Component component) {
    return kNames[static_cast<size_t>(component)];
}

std::span<const std::string_view> component_names() {
    return kNames;
}

void set_level(Level level) {
    registry().level.store(level);
    for (auto& threshold : detail::g_thresholds) {
        threshold.value.store(level, std::memory_order_relaxed);
    }
}

Level level() {
    return registry().level.load();
}

void set_component_level(Component component, Level level) {
    detail::g_thresholds[static_cast<size_t>(component)].value.store(level,
                                                                     std::memory_order_relaxed);
}

Level component_level(Component component) {
    return detail::g_thresholds[static_cast<size_t>(component)].value.load(
        std::memory_order_relaxed);
}

std::optional<Level> parse_level(std::string_view text) {
    struct Alias {
        std::string_view name;
        Level level;
    };
    // SPDK's log_set_level names first, then spdlog's.
    static constexpr std::array<Alias, 13> kAliases = {{
        {"ERROR", Level::err},
        {"WARNING", Level::warn},
        {"NOTICE", Level::info},
        {"INFO", Level::info},
        {"DEBUG", Level::debug},
        {"trace", Level::trace},
        {"debug", Level::debug},
        {"info", Level::info},
        {"warn", Level::warn},
        {"warning", Level::warn},
        {"error", Level::err},
        {"critical", Level::critical},
        {"off", Level::off},
    }};
    for (const auto& alias : kAliases) {
        if (alias.name == text) {
            return alias.level;
        }
    }
    return std::nullopt;
}

bool RateLimiter::allow(uint64_t& suppressed) noexcept {
    const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    int64_t start = window_start_.load(std::memory_order_relaxed);
    if (now - start >= interval_ns_ &&
        window_start_.compare_exchange_strong(start, now, std::memory_order_relaxed)) {
        in_window_.store(0, std::memory_order_relaxed);
    }
    if (in_window_.fetch_add(1, std::memory_order_relaxed) < burst_) {
        suppressed = suppressed_.exchange(0, std::memory_order_relaxed);
        return true;
    }
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

}  // namespace vhostd::log

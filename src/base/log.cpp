// Component loggers sharing one thread-safe stderr sink.
#include "base/log.hpp"

#include <array>
#include <memory>
#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

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
    std::atomic<spdlog::level::level_enum> level{spdlog::level::info};

    Registry() {
        sink->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] [%n] %v");
        for (size_t i = 0; i < kNames.size(); ++i) {
            loggers[i] = std::make_shared<spdlog::logger>(std::string(kNames[i]), sink);
            loggers[i]->set_level(level.load());
        }
    }
};

Registry& registry() {
    static Registry r;
    return r;
}

}  // namespace

spdlog::logger& get(Component component) {
    return *registry().loggers[static_cast<size_t>(component)];
}

std::string_view name(Component component) {
    return kNames[static_cast<size_t>(component)];
}

std::span<const std::string_view> component_names() {
    return kNames;
}

void set_level(spdlog::level::level_enum lvl) {
    auto& r = registry();
    r.level.store(lvl);
    for (auto& logger : r.loggers) {
        logger->set_level(lvl);
    }
}

spdlog::level::level_enum level() {
    return registry().level.load();
}

std::optional<spdlog::level::level_enum> parse_level(std::string_view text) {
    struct Alias {
        std::string_view name;
        spdlog::level::level_enum level;
    };
    // SPDK's log_set_level names first, then spdlog's.
    static constexpr std::array<Alias, 13> kAliases = {{
        {"ERROR", spdlog::level::err},
        {"WARNING", spdlog::level::warn},
        {"NOTICE", spdlog::level::info},
        {"INFO", spdlog::level::info},
        {"DEBUG", spdlog::level::debug},
        {"trace", spdlog::level::trace},
        {"debug", spdlog::level::debug},
        {"info", spdlog::level::info},
        {"warn", spdlog::level::warn},
        {"warning", spdlog::level::warn},
        {"error", spdlog::level::err},
        {"critical", spdlog::level::critical},
        {"off", spdlog::level::off},
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

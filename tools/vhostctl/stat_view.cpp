// `vhostctl stat`: one line per bdev per interval (IOPS, MiB/s, mean latency, queue depth),
// computed from the differences between successive bdev_get_iostat results (SPDK's shape:
// tick_rate, ticks, bdevs[{name, num_read_ops, bytes_read, read_latency_ticks, ...}]).
#include <csignal>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "commands.hpp"

namespace vhostctl {
namespace {

using nlohmann::json;

volatile std::sig_atomic_t g_interrupted = 0;

struct Sample {
    double ops = 0;
    double bytes = 0;
    double latency_ticks = 0;
};

uint64_t field(const json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

Sample sample(const json& bdev) {
    Sample s;
    for (const char* kind : {"read", "write", "unmap"}) {
        s.ops += static_cast<double>(field(bdev, fmt::format("num_{}_ops", kind).c_str()));
        s.latency_ticks +=
            static_cast<double>(field(bdev, fmt::format("{}_latency_ticks", kind).c_str()));
    }
    s.bytes = static_cast<double>(field(bdev, "bytes_read") + field(bdev, "bytes_written"));
    return s;
}

struct Options {
    double interval_s = 1.0;
    uint64_t count = 0;  // 0: until interrupted
};

int run_stat(const Global& global, const Options& options) {
    auto client = connect(global);
    if (!client) {
        return 1;
    }
    std::signal(SIGINT, [](int) { g_interrupted = 1; });
    std::signal(SIGTERM, [](int) { g_interrupted = 1; });
    std::map<std::string, Sample> previous;
    double previous_ticks = 0;
    for (uint64_t printed = 0; !g_interrupted && (options.count == 0 || printed < options.count);) {
        auto stats = client->call("bdev_get_iostat");
        if (!stats) {
            fmt::print(stderr, "vhostctl: bdev_get_iostat: {}\n", stats.error().message);
            return 1;
        }
        const double tick_rate = static_cast<double>(field(*stats, "tick_rate"));
        const double ticks = static_cast<double>(field(*stats, "ticks"));
        const double elapsed_s = tick_rate > 0 ? (ticks - previous_ticks) / tick_rate : 0;
        const bool have_previous = !previous.empty() || previous_ticks != 0;
        if (have_previous && elapsed_s > 0) {
            fmt::print("{:<16} {:>10} {:>10} {:>12} {:>6}\n", "bdev", "IOPS", "MiB/s", "lat_avg_us",
                       "qd");
            for (const json& bdev : stats->value("bdevs", json::array())) {
                const std::string name = bdev.value("name", "?");
                const Sample now = sample(bdev);
                const Sample before = previous.contains(name) ? previous[name] : Sample{};
                const double ops = now.ops - before.ops;
                const double latency_us =
                    ops > 0 ? (now.latency_ticks - before.latency_ticks) / ops / tick_rate * 1e6
                            : 0;
                fmt::print("{:<16} {:>10.0f} {:>10.2f} {:>12.1f} {:>6}\n", name, ops / elapsed_s,
                           (now.bytes - before.bytes) / elapsed_s / (1024.0 * 1024.0), latency_us,
                           field(bdev, "queue_depth"));
            }
            std::fflush(stdout);
            ++printed;
        }
        previous.clear();
        for (const json& bdev : stats->value("bdevs", json::array())) {
            previous[bdev.value("name", "?")] = sample(bdev);
        }
        previous_ticks = ticks;
        // Sleep in slices so Ctrl-C ends the view promptly.
        const auto until =
            std::chrono::steady_clock::now() +
            std::chrono::milliseconds(static_cast<int64_t>(options.interval_s * 1000));
        while (!g_interrupted && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    return 0;
}

}  // namespace

void add_stat_command(CLI::App& app, Action& action) {
    auto options = std::make_shared<Options>();
    CLI::App* sub = app.add_subcommand(
        "stat", "live per-bdev IOPS, MiB/s, mean latency and queue depth until Ctrl-C");
    sub->add_option("-i,--interval", options->interval_s, "seconds between lines")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    sub->add_option("-n,--count", options->count, "stop after this many intervals (0: never)")
        ->capture_default_str();
    sub->callback([&action, options] {
        action = [options](const Global& global) { return run_stat(global, *options); };
    });
}

}  // namespace vhostctl

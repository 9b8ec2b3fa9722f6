// Prometheus text rendering: one # HELP / # TYPE header per family, then its samples.
#include "metrics/prometheus_text.hpp"

#include <functional>
#include <string_view>

#include <fmt/format.h>

#include "block/stats/clock.hpp"

namespace vhostd::metrics {
namespace {

using block::IoType;
using block::stats::kTickRate;

constexpr IoType kOps[] = {IoType::read, IoType::write, IoType::flush, IoType::discard,
                           IoType::write_zeroes};

// Label values are names chosen by operators: escape what the format requires.
std::string escape(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

double seconds(uint64_t ticks) {
    return static_cast<double>(ticks) / static_cast<double>(kTickRate);
}

class Writer {
  public:
    // Starts a metric family.
    void family(std::string_view name, std::string_view type, std::string_view help) {
        fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                       type);
    }
    template <typename T>
    void sample(std::string_view name, std::string_view labels, T value) {
        fmt::format_to(std::back_inserter(out_), "{}{{{}}} {}\n", name, labels, value);
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

std::string bdev_label(const BdevSample& b) {
    return fmt::format("bdev=\"{}\"", escape(b.name));
}

std::string op_labels(const BdevSample& b, IoType op) {
    return fmt::format("bdev=\"{}\",op=\"{}\"", escape(b.name), block::to_string(op));
}

// A per-operation family over every bdev.
void per_op(Writer& w, const MetricsSnapshot& s, std::string_view name, std::string_view type,
            std::string_view help,
            const std::function<double(const block::stats::OpTotals&)>& value) {
    w.family(name, type, help);
    for (const BdevSample& b : s.bdevs) {
        for (IoType op : kOps) {
            w.sample(name, op_labels(b, op), value(b.stats.op(op)));
        }
    }
}

void bdev_io(Writer& w, const MetricsSnapshot& s) {
    using Op = block::stats::OpTotals;
    per_op(w, s, "vhostd_bdev_ops_total", "counter", "Completed operations.",
           [](const Op& o) { return static_cast<double>(o.ops); });
    per_op(w, s, "vhostd_bdev_bytes_total", "counter", "Bytes transferred (or unmapped, zeroed).",
           [](const Op& o) { return static_cast<double>(o.bytes); });
    per_op(w, s, "vhostd_bdev_op_latency_seconds_total", "counter",
           "Sum of completed operations' latencies.",
           [](const Op& o) { return seconds(o.latency_sum); });
    per_op(w, s, "vhostd_bdev_op_latency_min_seconds", "gauge", "Smallest latency (0: none).",
           [](const Op& o) { return seconds(o.latency_min); });
    per_op(w, s, "vhostd_bdev_op_latency_max_seconds", "gauge", "Largest latency.",
           [](const Op& o) { return seconds(o.latency_max); });

    w.family("vhostd_bdev_errors_total", "counter", "Failed operations by outcome.");
    for (const BdevSample& b : s.bdevs) {
        for (size_t i = 1; i < block::stats::kIoStatuses; ++i) {
            const auto status = static_cast<block::IoStatus>(i);
            w.sample("vhostd_bdev_errors_total",
                     fmt::format("{},status=\"{}\"", bdev_label(b), block::to_string(status)),
                     b.stats.errors[i]);
        }
    }
    w.family("vhostd_bdev_queue_depth", "gauge", "Requests in flight.");
    for (const BdevSample& b : s.bdevs) {
        w.sample("vhostd_bdev_queue_depth", bdev_label(b), b.stats.queue_depth);
    }
    w.family("vhostd_bdev_io_time_seconds_total", "counter",
             "Time with requests in flight, summed over channels.");
    for (const BdevSample& b : s.bdevs) {
        w.sample("vhostd_bdev_io_time_seconds_total", bdev_label(b), seconds(b.stats.io_time));
    }
    w.family("vhostd_bdev_weighted_io_time_seconds_total", "counter",
             "Time multiplied by requests in flight.");
    for (const BdevSample& b : s.bdevs) {
        w.sample("vhostd_bdev_weighted_io_time_seconds_total", bdev_label(b),
                 seconds(b.stats.weighted_io_time));
    }
}

// The log-linear histogram folded onto power-of-four boundaries from 1 us to 1 s (each is a
// bucket boundary, so the counts are exact).
void bdev_histogram(Writer& w, const MetricsSnapshot& s) {
    constexpr const char* kName = "vhostd_bdev_latency_seconds";
    w.family(kName, "histogram", "Latency of completed operations.");
    for (const BdevSample& b : s.bdevs) {
        const auto& h = b.stats.histogram;
        for (unsigned bits = 10; bits <= 30; bits += 2) {
            const uint64_t bound = uint64_t{1} << bits;
            w.sample("vhostd_bdev_latency_seconds_bucket",
                     fmt::format("{},le=\"{}\"", bdev_label(b), seconds(bound)),
                     h.count_at_most(bound - 1));
        }
        w.sample("vhostd_bdev_latency_seconds_bucket", bdev_label(b) + ",le=\"+Inf\"", h.total());
        uint64_t sum = 0;
        for (IoType op : kOps) {
            sum += b.stats.op(op).latency_sum;
        }
        w.sample("vhostd_bdev_latency_seconds_sum", bdev_label(b), seconds(sum));
        w.sample("vhostd_bdev_latency_seconds_count", bdev_label(b), h.total());
    }
}

void bdev_qos(Writer& w, const MetricsSnapshot& s) {
    w.family("vhostd_bdev_qos_limit", "gauge",
             "QoS limits (bdev_set_qos_limit's units; 0: no limit).");
    for (const BdevSample& b : s.bdevs) {
        const std::pair<const char*, uint64_t> limits[] = {
            {"rw_ios_per_sec", b.qos.rw_ios_per_sec},
            {"rw_mbytes_per_sec", b.qos.rw_mbytes_per_sec},
            {"r_mbytes_per_sec", b.qos.r_mbytes_per_sec},
            {"w_mbytes_per_sec", b.qos.w_mbytes_per_sec}};
        for (const auto& [limit, value] : limits) {
            w.sample("vhostd_bdev_qos_limit", fmt::format("{},limit=\"{}\"", bdev_label(b), limit),
                     value);
        }
    }
    w.family("vhostd_bdev_qos_queued_total", "counter", "Requests that waited for QoS tokens.");
    for (const BdevSample& b : s.bdevs) {
        w.sample("vhostd_bdev_qos_queued_total", bdev_label(b), b.stats.qos_queued);
    }
}

// Health: every bdev's state, and a remote backend's connection (up, reconnects, timeouts).
void bdev_health(Writer& w, const MetricsSnapshot& s) {
    w.family("vhostd_bdev_online", "gauge", "1 while the bdev serves I/O (not failed or removed).");
    for (const BdevSample& b : s.bdevs) {
        w.sample("vhostd_bdev_online", bdev_label(b), b.online ? 1 : 0);
    }
    w.family("vhostd_bdev_backend_up", "gauge",
             "1 while a remote backend's connections are up (0: down, requests wait or fail).");
    for (const BdevSample& b : s.bdevs) {
        if (b.backend_up) {
            w.sample("vhostd_bdev_backend_up", bdev_label(b), *b.backend_up ? 1 : 0);
        }
    }
    w.family("vhostd_bdev_backend_reconnects_total", "counter",
             "Connections a remote backend re-established.");
    for (const BdevSample& b : s.bdevs) {
        if (b.backend_up) {
            w.sample("vhostd_bdev_backend_reconnects_total", bdev_label(b), b.backend_reconnects);
        }
    }
    w.family("vhostd_bdev_backend_timeouts_total", "counter",
             "Requests a remote backend failed for want of an answer in time.");
    for (const BdevSample& b : s.bdevs) {
        if (b.backend_up) {
            w.sample("vhostd_bdev_backend_timeouts_total", bdev_label(b), b.backend_timeouts);
        }
    }
}

void queues(Writer& w, const MetricsSnapshot& s) {
    using Q = queue::QueueCounters;
    const struct {
        const char* name;
        const char* type;
        const char* help;
        uint64_t Q::*field;
    } families[] = {
        {"vhostd_queue_requests_total", "counter", "Requests taken from the ring.", &Q::requests},
        {"vhostd_queue_completions_total", "counter", "Requests completed.", &Q::completions},
        {"vhostd_queue_inflight", "gauge", "Requests in flight.", &Q::inflight},
        {"vhostd_queue_busy_polls_total", "counter", "Poll loops that found requests.",
         &Q::busy_polls},
        {"vhostd_queue_idle_polls_total", "counter", "Poll loops that found none.", &Q::idle_polls},
        {"vhostd_queue_interrupts_total", "counter", "Interrupts (call eventfd signals) sent.",
         &Q::calls},
        {"vhostd_queue_interrupts_deferred_total", "counter", "Interrupts postponed by coalescing.",
         &Q::calls_deferred},
    };
    for (const auto& f : families) {
        w.family(f.name, f.type, f.help);
        for (const ControllerSample& c : s.controllers) {
            for (const Q& q : c.queues) {
                w.sample(f.name, fmt::format("ctrlr=\"{}\",queue=\"{}\"", escape(c.name), q.index),
                         q.*f.field);
            }
        }
    }
}

void reactors(Writer& w, const MetricsSnapshot& s) {
    w.family("vhostd_reactor_iterations_total", "counter", "Reactor loop iterations.");
    for (const ReactorSample& r : s.reactors) {
        w.sample("vhostd_reactor_iterations_total",
                 fmt::format("reactor=\"{}\",result=\"busy\"", r.id), r.busy_iterations);
        w.sample("vhostd_reactor_iterations_total",
                 fmt::format("reactor=\"{}\",result=\"idle\"", r.id), r.idle_iterations);
    }
    w.family("vhostd_reactor_sleeps_total", "counter", "Times the reactor slept in epoll.");
    for (const ReactorSample& r : s.reactors) {
        w.sample("vhostd_reactor_sleeps_total", fmt::format("reactor=\"{}\"", r.id), r.sleeps);
    }
}

}  // namespace

std::string render_prometheus(const MetricsSnapshot& snapshot) {
    Writer w;
    bdev_io(w, snapshot);
    bdev_histogram(w, snapshot);
    bdev_qos(w, snapshot);
    bdev_health(w, snapshot);
    queues(w, snapshot);
    reactors(w, snapshot);
    return w.take();
}

}  // namespace vhostd::metrics

// Delay bdev: completions held back until an average (or, for one request in a hundred, a
// p99) latency has passed since submission, as SPDK's bdev_delay does.
#include <atomic>

#include "block/backends/fault/fault_bdevs.hpp"
#include "block/backends/fault/passthrough_channel.hpp"
#include "block/backends/fault/stacked_backend.hpp"
#include "block/stats/clock.hpp"

namespace vhostd::block {
namespace {

constexpr uint64_t kTicksPerUs = stats::kTickRate / 1'000'000;

// Latencies in microseconds; read by every channel, written by RPC (relaxed: a request sees
// the old or the new value).
struct Latencies {
    std::atomic<uint64_t> avg_read{0};
    std::atomic<uint64_t> p99_read{0};
    std::atomic<uint64_t> avg_write{0};
    std::atomic<uint64_t> p99_write{0};

    std::atomic<uint64_t>& of(LatencyKind kind) {
        switch (kind) {
            case LatencyKind::avg_read:
                return avg_read;
            case LatencyKind::p99_read:
                return p99_read;
            case LatencyKind::avg_write:
                return avg_write;
            case LatencyKind::p99_write:
                break;
        }
        return p99_write;
    }
};

class DelayChannel final : public PassthroughChannel {
  public:
    DelayChannel(reactor::Reactor& reactor, std::unique_ptr<IoChannel> base,
                 std::shared_ptr<Latencies> latencies)
        : PassthroughChannel(reactor, std::move(base)), latencies_(std::move(latencies)) {}

  private:
    Verdict admit(IoRequest& request, IoStatus&) noexcept override {
        // Reads count as reads; everything else (writes, flushes, unmaps) as writes, as in SPDK.
        const bool read = request.type == IoType::read;
        const bool p99 = ++count_ % 100 == 0;
        const uint64_t us = (read ? (p99 ? latencies_->p99_read : latencies_->avg_read)
                                  : (p99 ? latencies_->p99_write : latencies_->avg_write))
                                .load(std::memory_order_relaxed);
        scratch(request).backend_result =
            static_cast<int64_t>(stats::now_ticks() + us * kTicksPerUs);  // due time
        return Verdict::forward;
    }

    void finished(IoRequest& request) noexcept override {
        if (static_cast<uint64_t>(scratch(request).backend_result) <= stats::now_ticks()) {
            complete_later(request);
            return;
        }
        delayed_.push_back(request);
    }

    bool tick() noexcept override {
        if (delayed_.empty()) {
            return false;
        }
        // The delayed requests are few (a queue's depth): look at each, keep the order.
        const uint64_t now = stats::now_ticks();
        RequestList still;
        bool any = false;
        RequestList batch = delayed_.take();
        while (IoRequest* request = batch.pop_front()) {
            if (static_cast<uint64_t>(scratch(*request).backend_result) <= now) {
                complete_later(*request);
                any = true;
            } else {
                still.push_back(*request);
            }
        }
        delayed_ = still.take();
        return any;
    }

    // No event ends a delay: the reactor keeps polling while requests wait.
    [[nodiscard]] bool holding() const noexcept override { return !delayed_.empty(); }

    std::shared_ptr<Latencies> latencies_;
    RequestList delayed_;
    uint64_t count_ = 0;
};

class DelayBackend final : public StackedBackend {
  public:
    DelayBackend(std::shared_ptr<Bdev> base, const DelayParams& params)
        : StackedBackend(std::move(base)), latencies_(std::make_shared<Latencies>()) {
        latencies_->avg_read = params.avg_read_latency_us;
        latencies_->p99_read = params.p99_read_latency_us;
        latencies_->avg_write = params.avg_write_latency_us;
        latencies_->p99_write = params.p99_write_latency_us;
    }

    [[nodiscard]] std::string_view driver() const override { return "delay"; }
    [[nodiscard]] nlohmann::json describe() const override {
        return {{"name", bdev().name()},
                {"base_bdev_name", base().name()},
                {"uuid", bdev().uuid()},
                {"avg_read_latency", latencies_->avg_read.load()},
                {"p99_read_latency", latencies_->p99_read.load()},
                {"avg_write_latency", latencies_->avg_write.load()},
                {"p99_write_latency", latencies_->p99_write.load()}};
    }
    [[nodiscard]] Latencies& latencies() { return *latencies_; }

  private:
    std::unique_ptr<BackendChannel> make_channel(reactor::Reactor& reactor,
                                                 std::unique_ptr<IoChannel> base) override {
        return std::make_unique<DelayChannel>(reactor, std::move(base), latencies_);
    }

    std::shared_ptr<Latencies> latencies_;  // shared with the channels
};

}  // namespace

Result<std::shared_ptr<Bdev>> bdev_delay_create(const DelayParams& params, BdevRegistry& bdevs) {
    std::shared_ptr<Bdev> base = bdevs.find(params.base_bdev_name);
    if (!base) {
        return make_error(ENODEV, "bdev {} not found", params.base_bdev_name);
    }
    if (params.p99_read_latency_us < params.avg_read_latency_us ||
        params.p99_write_latency_us < params.avg_write_latency_us) {
        return make_error(EINVAL, "bdev {}: a p99 latency must not be below its average",
                          params.name);
    }
    BdevInit init = stacked_init(*base, params.name, "delay", params.uuid);
    return make_stacked_bdev(std::move(init), std::make_unique<DelayBackend>(base, params), bdevs);
}

Result<void> bdev_delay_update_latency(Bdev& bdev, LatencyKind kind, uint64_t latency_us) {
    auto* delay = BdevModuleAccess::backend<DelayBackend>(bdev);
    if (delay == nullptr) {
        return make_error(ENODEV, "bdev {} is not a delay bdev", bdev.name());
    }
    Latencies& l = delay->latencies();
    const bool p99_below_avg = (kind == LatencyKind::p99_read && latency_us < l.avg_read) ||
                               (kind == LatencyKind::p99_write && latency_us < l.avg_write) ||
                               (kind == LatencyKind::avg_read && latency_us > l.p99_read) ||
                               (kind == LatencyKind::avg_write && latency_us > l.p99_write);
    if (p99_below_avg) {
        return make_error(EINVAL, "bdev {}: a p99 latency must not be below its average",
                          bdev.name());
    }
    l.of(kind).store(latency_us, std::memory_order_relaxed);
    return {};
}

}  // namespace vhostd::block

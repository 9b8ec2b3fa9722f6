// NBD client backend: the bdev (parameters, export, shared counters), its channels, and the
// asynchronous create that probes the export first.
#include "block/backends/nbd/nbd_bdev.hpp"

#include <algorithm>
#include <bit>

#include "base/log.hpp"
#include "block/backends/nbd/nbd_channel.hpp"
#include "block/backends/nbd/nbd_link.hpp"
#include "block/module/bdev_module.hpp"

namespace vhostd::block {
namespace {

// NBD commands carry 32-bit lengths and servers cap them (32 MiB is the common maximum):
// discards and zeroes are advertised in pieces no bigger than that.
constexpr uint64_t kMaxCommandBytes = 32 << 20;

NbdLink::Options link_options(const NbdParams& params, bool reconnect) {
    return NbdLink::Options{.uri = params.uri,
                            .connect_timeout = std::chrono::milliseconds(params.io_timeout_ms),
                            .reconnect = reconnect};
}

// Where a channel's news of a resized export goes: the control reactor, which resizes the bdev
// while it exists.
struct NbdResizeTarget {
    reactor::Reactor& control;
    Bdev* bdev = nullptr;  // control reactor only; null once the backend is gone
};

class NbdBackend final : public BdevBackend {
  public:
    NbdBackend(reactor::Reactor& control, NbdParams params, NbdExport exported)
        : params_(std::move(params)),
          export_(exported),
          counters_(std::make_shared<NbdCounters>()),
          resize_(std::make_shared<NbdResizeTarget>(NbdResizeTarget{control})) {}
    ~NbdBackend() override { resize_->bdev = nullptr; }

    // Control reactor, once make_bdev() returned.
    void attach() { resize_->bdev = &bdev(); }

    [[nodiscard]] std::string_view driver() const override { return "nbd_client"; }

    Result<std::unique_ptr<BackendChannel>> create_channel(reactor::Reactor& reactor) override {
        const uint64_t open = counters_->channels.load(std::memory_order_relaxed);
        if (params_.connections != 0 && open >= params_.connections) {
            return make_error(EBUSY,
                              "bdev {}: all {} NBD connection(s) in use (raise connections to "
                              "serve more reactors)",
                              bdev().name(), params_.connections);
        }
        if (open >= 1 && !export_.can_multi_conn) {
            // Without multi-conn a flush on one connection says nothing of writes made on
            // another: a second connection would break the guest's flush semantics.
            return make_error(ENOTSUP,
                              "bdev {}: the NBD server does not allow multi-conn; one reactor "
                              "only",
                              bdev().name());
        }
        // A server restarted with a resized export: the bdev follows (a whole number of
        // blocks; the guest is told as for any resize).
        auto resized = [target = resize_, block_size = bdev().block_size()](uint64_t bytes) {
            target->control.post([target, bytes, block_size] {
                if (target->bdev == nullptr) {
                    return;
                }
                if (bytes % block_size != 0) {
                    LOG_WARN(block,
                             "bdev {}: the NBD export's new size {} is not a whole number "
                             "of {}-byte blocks; keeping the old size",
                             target->bdev->name(), bytes, block_size);
                    return;
                }
                BdevModuleAccess::set_num_blocks(*target->bdev, bytes / block_size);
            });
        };
        NbdChannel::Options options{.link = link_options(params_, true),
                                    .io_timeout = std::chrono::milliseconds(params_.io_timeout_ms),
                                    .export_resized = std::move(resized)};
        return std::make_unique<NbdChannel>(reactor, bdev(), std::move(options), counters_);
    }

    [[nodiscard]] nlohmann::json describe() const override {
        return {{"name", bdev().name()},
                {"uri", params_.uri},
                {"block_size", bdev().block_size()},
                {"connections", params_.connections},
                {"io_timeout_ms", params_.io_timeout_ms},
                {"uuid", bdev().uuid()}};
    }

    [[nodiscard]] nlohmann::json status() const override {
        const NbdCounters& c = *counters_;
        const uint64_t channels = c.channels.load(std::memory_order_relaxed);
        const uint64_t connected = c.connected.load(std::memory_order_relaxed);
        return {{"nbd",
                 {{"connections", channels},
                  {"connected", connected},
                  {"state", channels == 0           ? "idle"
                            : connected == channels ? "up"
                                                    : "down"},
                  {"reconnects", c.reconnects.load(std::memory_order_relaxed)},
                  {"timeouts", c.timeouts.load(std::memory_order_relaxed)},
                  {"inflight_commands", c.inflight.load(std::memory_order_relaxed)},
                  {"waiting_requests", c.waiting.load(std::memory_order_relaxed)},
                  {"multi_conn", export_.can_multi_conn}}}};
    }

  private:
    NbdParams params_;
    NbdExport export_;
    std::shared_ptr<NbdCounters> counters_;
    std::shared_ptr<NbdResizeTarget> resize_;
};

Result<std::shared_ptr<Bdev>> make_nbd_bdev(reactor::Reactor& control, NbdParams params,
                                            const NbdExport& e) {
    uint32_t block_size = params.block_size;
    if (block_size == 0) {
        block_size = std::max<uint32_t>(512, e.preferred_block_size);
        if (!std::has_single_bit(block_size) || block_size > 4096) {
            block_size = 512;
        }
    }
    if (e.size % block_size != 0) {
        return make_error(EINVAL, "NBD export of {} bytes is not a whole number of {}-byte blocks",
                          e.size, block_size);
    }
    const uint32_t max_blocks = static_cast<uint32_t>(kMaxCommandBytes / block_size);
    Capabilities caps{.flush = e.can_flush,
                      .discard = e.can_trim,
                      .write_zeroes = e.can_zero,
                      .read_only = e.read_only,
                      .max_discard_blocks = max_blocks,
                      .max_write_zeroes_blocks = max_blocks};
    BdevInit init{.name = params.name,
                  .product = "NBD disk",
                  .block_size = block_size,
                  .num_blocks = e.size / block_size,
                  .caps = caps,
                  .uuid = params.uuid};
    params.block_size = block_size;
    auto backend = std::make_unique<NbdBackend>(control, std::move(params), e);
    NbdBackend* raw = backend.get();
    auto bdev = make_bdev(std::move(init), std::move(backend));
    if (bdev) {
        raw->attach();
    }
    return bdev;
}

}  // namespace

void bdev_nbd_client_create(reactor::Reactor& control, NbdParams params, NbdCreated done) {
    if (params.io_timeout_ms == 0) {
        done(make_error(EINVAL, "io_timeout_ms must be at least 1"));
        return;
    }
    // A one-off connection that only reads the export's description. The link's callback
    // owns the probe (a cycle through the link, on purpose); the first final state breaks it by
    // destroying the link from a fresh stack. Without reconnects the link always reaches ready
    // or closed, within the connect timeout.
    struct Probe {
        NbdParams params;
        NbdCreated done;
        std::unique_ptr<NbdLink> link;
    };
    auto probe = std::make_shared<Probe>(Probe{std::move(params), std::move(done), nullptr});
    const NbdLink::Options options = link_options(probe->params, false);
    probe->link = std::make_unique<NbdLink>(
        control, options, [&control, probe](NbdLink::State state, const Error* error) {
            if (!probe->done || state == NbdLink::State::connecting) {
                return;
            }
            auto finish = std::move(probe->done);
            probe->done = nullptr;
            if (state == NbdLink::State::ready) {
                finish(make_nbd_bdev(control, probe->params, probe->link->exported()));
            } else {
                finish(make_error(error != nullptr ? error->code : EIO, "bdev {}: {}",
                                  probe->params.name,
                                  error != nullptr ? error->message : "cannot connect"));
            }
            control.post([probe] { probe->link.reset(); });
        });
}

}  // namespace vhostd::block

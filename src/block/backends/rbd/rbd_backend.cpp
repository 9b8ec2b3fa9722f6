// RbdBackend: channels, description, status, and the image jobs.
#include "block/backends/rbd/rbd_backend.hpp"

#include <optional>

#include "base/log.hpp"
#include "block/backends/rbd/rbd_channel.hpp"

namespace vhostd::block {

void run_image_job(const std::shared_ptr<RbdContext>& context,
                   const std::shared_ptr<RbdImageState>& state, std::move_only_function<void()> job,
                   std::move_only_function<void()> done) {
    ++state->jobs;
    context->workers.run(std::move(job), [state, done = std::move(done)]() mutable {
        done();
        if (--state->jobs == 0 && state->after_jobs) {
            auto after = std::move(state->after_jobs);
            state->after_jobs = nullptr;
            after();
        }
    });
}

void close_rbd_image(const std::shared_ptr<RbdContext>& context, RbdImage* image, uint64_t watch_id,
                     std::shared_ptr<RadosCluster> cluster) {
    context->workers.run(
        [api = context->api, image, watch_id] {
            if (watch_id != 0) {
                api->unwatch(image, watch_id);  // no header callback after this
            }
            api->close(image);
        },
        [cluster = std::move(cluster)] {
            if (cluster) {
                --cluster->users;
            }
        });
}

RbdBackend::RbdBackend(std::shared_ptr<RbdContext> context, std::shared_ptr<RadosCluster> cluster,
                       RbdParams params, std::shared_ptr<RbdImageState> state, uint64_t watch_id)
    : context_(std::move(context)),
      cluster_(std::move(cluster)),
      params_(std::move(params)),
      state_(std::move(state)),
      watch_id_(watch_id) {}

RbdBackend::~RbdBackend() {
    state_->bdev = nullptr;
    auto close = [context = context_, image = state_->image, watch_id = watch_id_,
                  cluster = cluster_] { close_rbd_image(context, image, watch_id, cluster); };
    if (state_->jobs == 0) {
        close();
    } else {
        state_->after_jobs = std::move(close);
    }
}

void RbdBackend::attach() {
    state_->bdev = &bdev();
}

Result<std::unique_ptr<BackendChannel>> RbdBackend::create_channel(reactor::Reactor& reactor) {
    return RbdChannel::create(reactor, bdev(), state_,
                              std::chrono::milliseconds(params_.io_timeout_ms));
}

nlohmann::json RbdBackend::describe() const {
    // SPDK's bdev_rbd_create parameters (its save_config leaves out cluster_name, so a saved
    // config could not be loaded again; vhostd writes it).
    nlohmann::json out = {{"name", bdev().name()},
                          {"pool_name", params_.pool_name},
                          {"rbd_name", params_.rbd_name},
                          {"block_size", bdev().block_size()}};
    if (!params_.user_id.empty()) {
        out["user_id"] = params_.user_id;
    }
    if (params_.config) {
        nlohmann::json entries = nlohmann::json::object();
        for (const auto& [key, value] : *params_.config) {
            entries[key] = value;
        }
        out["config"] = std::move(entries);
    }
    if (!params_.cluster_name.empty()) {
        out["cluster_name"] = params_.cluster_name;
    }
    out["uuid"] = bdev().uuid();
    if (params_.read_only) {
        out["read_only"] = true;
    }
    out["io_timeout_ms"] = params_.io_timeout_ms;
    return out;
}

nlohmann::json RbdBackend::status() const {
    const RbdImageState& s = *state_;
    const bool idle = s.channels.load(std::memory_order_relaxed) == 0;
    const bool down = s.down.load(std::memory_order_relaxed);
    return {{"rbd",
             {{"state", down   ? "down"
                        : idle ? "idle"
                               : "up"},
              {"cluster_name", params_.cluster_name},
              {"channels", s.channels.load(std::memory_order_relaxed)},
              {"inflight", s.inflight.load(std::memory_order_relaxed)},
              {"overdue", s.overdue.load(std::memory_order_relaxed)},
              {"timeouts", s.timeouts.load(std::memory_order_relaxed)},
              {"errors", s.errors.load(std::memory_order_relaxed)},
              // librados re-establishes its sessions by itself and does not count them: what
              // vhostd sees is the cluster answering again after it had stopped.
              {"reconnects", s.recoveries.load(std::memory_order_relaxed)}}}};
}

void RbdBackend::refresh_size() {
    if (state_->refreshing) {
        state_->refresh_again = true;
        return;
    }
    state_->refreshing = true;
    auto bytes = std::make_shared<Result<uint64_t>>(make_error(EIO, "not read"));
    run_image_job(
        context_, state_,
        [api = context_->api, image = state_->image, bytes] { *bytes = api->size(image); },
        [state = state_, bytes, block_size = bdev().block_size()] {
            state->refreshing = false;
            if (state->bdev == nullptr) {
                return;
            }
            if (!*bytes) {
                // The cluster does not answer: try again later, not at once (librbd queues I/O
                // behind an image refresh, so a loop of them would hold the guest's requests).
                LOG_WARN(block,
                         "bdev {}: cannot read the RBD image size: {}; trying again in "
                         "{} ms",
                         state->bdev->name(), bytes->error().describe(),
                         state->retry_delay.count());
                retry_refresh_later(state);
                return;
            }
            BdevModuleAccess::set_num_blocks(*state->bdev, **bytes / block_size);
            if (state->refresh_again) {
                state->refresh_again = false;
                auto* backend = BdevModuleAccess::backend<RbdBackend>(*state->bdev);
                if (backend != nullptr) {
                    backend->refresh_size();
                }
            }
        });
}

void RbdBackend::retry_refresh_later(const std::shared_ptr<RbdImageState>& state) {
    auto timer = std::make_shared<std::optional<reactor::Reactor::TimerId>>();
    *timer = state->control->add_timer(
        state->retry_delay, [weak = std::weak_ptr<RbdImageState>(state), timer] {
            auto s = weak.lock();
            if (s) {
                s->control->cancel_timer(**timer);  // once
            }
            if (!s || s->bdev == nullptr) {
                return;
            }
            if (auto* backend = BdevModuleAccess::backend<RbdBackend>(*s->bdev)) {
                backend->refresh_size();
            }
        });
}

void RbdBackend::resize(uint64_t bytes, RbdModule::Done<void> done) {
    auto result = std::make_shared<Result<void>>();
    run_image_job(
        context_, state_,
        [api = context_->api, image = state_->image, bytes, result] {
            *result = api->resize(image, bytes);
        },
        [state = state_, bytes, result, block_size = bdev().block_size(),
         done = std::move(done)]() mutable {
            if (*result && state->bdev != nullptr) {
                BdevModuleAccess::set_num_blocks(*state->bdev, bytes / block_size);
            }
            done(std::move(*result));
        });
}

}  // namespace vhostd::block

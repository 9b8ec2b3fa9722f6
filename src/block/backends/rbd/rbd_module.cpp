// RbdModule: registered clusters, and creating RBD bdevs (connect, open, size, watch) on
// workers with a deadline.
#include "block/backends/rbd/rbd_module.hpp"

#include "base/log.hpp"
#include "block/backends/rbd/rbd_backend.hpp"
#include "block/module/bdev_module.hpp"

namespace vhostd::block {
namespace {

// An RPC answered by whichever comes first: the job's result or the deadline.
template <class T>
struct Answer {
    RbdModule::Done<T> done;
    std::optional<reactor::Reactor::TimerId> deadline;

    // True if this call answered (the first one does).
    bool give(reactor::Reactor& control, Result<T> result) {
        if (!done) {
            return false;
        }
        if (deadline) {
            control.cancel_timer(*deadline);
            deadline.reset();
        }
        auto answer = std::move(done);
        done = nullptr;
        answer(std::move(result));
        return true;
    }
};

template <class T>
std::shared_ptr<Answer<T>> answer_within(reactor::Reactor& control, uint32_t timeout_ms,
                                         RbdModule::Done<T> done, std::string what) {
    auto answer = std::make_shared<Answer<T>>(Answer<T>{std::move(done), std::nullopt});
    answer->deadline = control.add_timer(
        std::chrono::milliseconds(timeout_ms),
        [&control, answer, timeout_ms, what = std::move(what)] {
            // give() cancels the (periodic) timer: this is its only firing.
            answer->give(control, make_error(ETIMEDOUT,
                                             "{}: no answer from the Ceph cluster "
                                             "within {} ms",
                                             what, timeout_ms));
        });
    return answer;
}

// Largest discard / write-zeroes per request: bounds the work one guest request starts.
constexpr uint64_t kMaxRangeBytes = 1ULL << 30;

// What the open job hands back (plain data: it crosses threads).
struct Opened {
    RadosConnection* connected = nullptr;  // a connection of the bdev's own
    RbdImage* image = nullptr;
    uint64_t size = 0;
    uint64_t watch_id = 0;
    std::optional<Error> error;
};

}  // namespace

std::shared_ptr<RbdModule> RbdModule::create(reactor::Reactor& control,
                                             std::shared_ptr<RbdApi> api) {
    return std::shared_ptr<RbdModule>(new RbdModule(control, std::move(api)));
}

RbdModule::RbdModule(reactor::Reactor& control, std::shared_ptr<RbdApi> api)
    : context_(std::make_shared<RbdContext>(control, std::move(api))) {}

RbdModule::~RbdModule() {
    clusters_.clear();
    // Continuations hold clusters, clusters hold the context: end the jobs here, on the
    // control thread, rather than leaving a cycle.
    context_->workers.drain();
}

void RbdModule::register_cluster(RbdClusterParams params, Done<void> done) {
    if (clusters_.contains(params.name) || connecting_.contains(params.name)) {
        done(make_error(EEXIST, "cluster {} is already registered", params.name));
        return;
    }
    connecting_.insert(params.name);
    auto answer = answer_within(context_->control, params.io_timeout_ms, std::move(done),
                                fmt::format("cluster {}", params.name));
    auto connected = std::make_shared<Result<RadosConnection*>>(nullptr);
    const RadosConfig config = params.rados_config();
    context_->workers.run(
        [api = context_->api, config, connected] { *connected = api->connect(config); },
        [self = weak_from_this(), context = context_, params = std::move(params), answer,
         connected]() mutable {
            if (!*connected) {
                if (auto module = self.lock()) {
                    module->connecting_.erase(params.name);
                }
                answer->give(context->control,
                             make_error(connected->error().code, "cluster {}: {}", params.name,
                                        connected->error().describe()));
                return;
            }
            // Whoever ends up without it (a timeout answered first, the module is gone)
            // disconnects it by letting go.
            auto cluster = std::make_shared<RadosCluster>(context, params, **connected);
            auto module = self.lock();
            if (!module) {
                return;
            }
            module->connecting_.erase(params.name);
            if (answer->give(context->control, {})) {
                LOG_INFO(block, "Ceph cluster {} registered", params.name);
                module->clusters_.emplace(params.name, std::move(cluster));
            }
        });
}

Result<void> RbdModule::unregister_cluster(std::string_view name) {
    auto it = clusters_.find(name);
    if (it == clusters_.end()) {
        return make_error(ENOENT, "cluster {} is not registered", name);
    }
    if (it->second->users != 0) {
        return make_error(EBUSY, "cluster {} is used by {} bdev(s)", name, it->second->users);
    }
    clusters_.erase(it);
    return {};
}

Result<nlohmann::json> RbdModule::clusters_info(const std::optional<std::string>& name) const {
    auto info = [](const RadosCluster& cluster) {
        nlohmann::json out = cluster.params().to_json();
        out.erase("name");
        out["cluster_name"] = cluster.params().name;
        return out;
    };
    if (name) {
        auto it = clusters_.find(*name);
        if (it == clusters_.end()) {
            return make_error(ENOENT, "cluster {} is not registered", *name);
        }
        return info(*it->second);
    }
    if (clusters_.empty()) {
        return make_error(ENOENT, "no cluster is registered");  // SPDK answers so too
    }
    nlohmann::json all = nlohmann::json::array();
    for (const auto& [cluster_name, cluster] : clusters_) {
        all.push_back(info(*cluster));
    }
    return all;
}

nlohmann::json RbdModule::config_calls() const {
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& [name, cluster] : clusters_) {
        calls.push_back(
            {{"method", "bdev_rbd_register_cluster"}, {"params", cluster->params().to_json()}});
    }
    return calls;
}

void RbdModule::create_bdev(RbdParams params, Done<std::shared_ptr<Bdev>> done) {
    if (params.name.empty()) {
        params.name = fmt::format("Ceph{}", next_default_name_);
    }
    std::shared_ptr<RadosCluster> shared;
    if (!params.cluster_name.empty()) {
        auto it = clusters_.find(params.cluster_name);
        if (it == clusters_.end()) {
            done(make_error(ENOENT, "bdev {}: cluster {} is not registered", params.name,
                            params.cluster_name));
            return;
        }
        shared = it->second;
        ++shared->users;  // from now until the image is closed or never opened
        if (params.io_timeout_ms < shared->params().io_timeout_ms) {
            LOG_WARN(block,
                     "bdev {}: io_timeout_ms {} is shorter than cluster {}'s ({}): librbd may "
                     "hold a timed-out request until the cluster's timeout",
                     params.name, params.io_timeout_ms, params.cluster_name,
                     shared->params().io_timeout_ms);
        }
    }
    // A connection of the bdev's own: SPDK reads only `config` when it is given, else the
    // default config file.
    RbdClusterParams own{.name = "",
                         .user_id = params.user_id,
                         .config_param = params.config,
                         .io_timeout_ms = params.io_timeout_ms};
    RadosConfig own_config = own.rados_config();
    own_config.read_config_file = !params.config.has_value();

    auto state = std::make_shared<RbdImageState>();
    state->api = context_->api;
    state->control = &context_->control;
    state->retry_delay = std::chrono::milliseconds(params.io_timeout_ms);
    auto answer = answer_within(
        context_->control, params.io_timeout_ms, std::move(done),
        fmt::format("bdev {} ({}/{})", params.name, params.pool_name, params.rbd_name));
    auto opened = std::make_shared<Opened>();
    reactor::Reactor* control = &context_->control;
    std::weak_ptr<RbdImageState> weak_state = state;
    // Built before the continuation below takes `params` (argument order is unspecified).
    auto job = [api = context_->api, cluster = shared ? shared->connection() : nullptr, own_config,
                pool = params.pool_name, image = params.rbd_name, read_only = params.read_only,
                opened, control, weak_state] {
        RadosConnection* connection = cluster;
        if (connection == nullptr) {
            auto connected = api->connect(own_config);
            if (!connected) {
                opened->error = connected.error();
                return;
            }
            connection = opened->connected = *connected;
        }
        auto handle = api->open(connection, pool, image, read_only);
        if (!handle) {
            opened->error = handle.error();
            return;
        }
        opened->image = *handle;
        auto size = api->size(opened->image);
        if (!size) {
            opened->error = size.error();
            return;
        }
        opened->size = *size;
        // Another client's resize reaches the bdev through the header watch.
        auto watch = api->watch(opened->image, [control, weak_state] {
            control->post([weak_state] {
                auto s = weak_state.lock();
                if (s && s->bdev != nullptr) {
                    if (auto* b = BdevModuleAccess::backend<RbdBackend>(*s->bdev)) {
                        b->refresh_size();
                    }
                }
            });
        });
        if (watch) {
            opened->watch_id = *watch;
        } else {
            LOG_WARN(block,
                     "RBD image {}/{}: no header watch ({}); resizes by other "
                     "clients are not seen",
                     pool, image, watch.error().describe());
        }
    };
    context_->workers.run(std::move(job), [self = weak_from_this(), context = context_,
                                           params = std::move(params), shared, state, answer,
                                           opened]() mutable {
        // Also when the module is gone (vhostd stopping): what was opened is closed again.
        auto module = self.lock();
        std::shared_ptr<RadosCluster> cluster = shared;
        if (opened->connected != nullptr) {
            RbdClusterParams private_params{.name = "", .io_timeout_ms = params.io_timeout_ms};
            cluster = std::make_shared<RadosCluster>(context, private_params, opened->connected);
            ++cluster->users;
        }
        auto give_up = [&](Result<std::shared_ptr<Bdev>> result) {
            if (opened->image != nullptr) {
                close_rbd_image(context, opened->image, opened->watch_id, cluster);
            } else if (cluster) {
                --cluster->users;
            }
            answer->give(context->control, std::move(result));
        };
        if (!answer->done || !module) {
            give_up(make_error(ETIMEDOUT, "answered already"));  // past the deadline, or gone
            return;
        }
        if (opened->error) {
            give_up(make_error(opened->error->code, "bdev {}: {}", params.name,
                               opened->error->describe()));
            return;
        }
        state->image = opened->image;
        const uint32_t block_size = params.block_size;
        if (opened->size % block_size != 0) {
            LOG_WARN(block,
                     "bdev {}: the image's last {} bytes are not a whole block and "
                     "are not served",
                     params.name, opened->size % block_size);
        }
        const uint32_t max_blocks = static_cast<uint32_t>(kMaxRangeBytes / block_size);
        BdevInit init{.name = params.name,
                      .product = "Ceph Rbd Disk",
                      .block_size = block_size,
                      .num_blocks = opened->size / block_size,
                      .caps = Capabilities{.flush = true,
                                           .discard = true,
                                           .write_zeroes = true,
                                           .read_only = params.read_only,
                                           .max_discard_blocks = max_blocks,
                                           .max_write_zeroes_blocks = max_blocks},
                      .uuid = params.uuid};
        // From here the backend owns the image: if make_bdev fails, it closes it.
        auto backend = std::make_unique<RbdBackend>(context, cluster, std::move(params), state,
                                                    opened->watch_id);
        RbdBackend* raw = backend.get();
        auto bdev = make_bdev(std::move(init), std::move(backend));
        if (bdev) {
            raw->attach();
            ++module->next_default_name_;
        }
        answer->give(context->control, std::move(bdev));
    });
}

void RbdModule::resize_bdev(Bdev& bdev, uint64_t new_size_mib, Done<void> done) {
    auto* backend = BdevModuleAccess::backend<RbdBackend>(bdev);
    if (backend == nullptr) {
        done(make_error(EINVAL, "bdev {} is not an RBD bdev", bdev.name()));
        return;
    }
    constexpr uint64_t kMiB = 1 << 20;
    if (new_size_mib > UINT64_MAX / kMiB) {
        done(make_error(EINVAL, "new_size {} MiB is too large", new_size_mib));
        return;
    }
    // SPDK: the new size in MiB may not be below the current size in whole MiB.
    if (bdev.size_bytes() / kMiB > new_size_mib) {
        done(make_error(EINVAL,
                        "bdev {}: the new size ({} MiB) must not be smaller than the "
                        "current one ({} MiB)",
                        bdev.name(), new_size_mib, bdev.size_bytes() / kMiB));
        return;
    }
    backend->resize(new_size_mib * kMiB, std::move(done));
}

bool is_rbd_bdev(Bdev& bdev) {
    return BdevModuleAccess::backend<RbdBackend>(bdev) != nullptr;
}

}  // namespace vhostd::block

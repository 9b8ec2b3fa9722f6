// VhostController: queue placement and the start/stop/rewire message flows.
#include "targets/vhost/vhost_controller.hpp"

#include "base/log.hpp"

namespace vhostd::targets {

VhostController::VhostController(VhostControllerConfig config,
                                 std::shared_ptr<virtio::Device> device, reactor::Reactor& control,
                                 std::vector<reactor::Reactor*> reactors)
    : config_(std::move(config)), device_(std::move(device)), control_(control) {
    queues_.resize(device_->num_queues());
    for (size_t i = 0; i < queues_.size(); ++i) {
        queues_[i].reactor = reactors[i % reactors.size()];
    }
}

Result<void> VhostController::listen() {
    server_ = VHOSTD_TRY(vhost_user::Server::create(
        control_, config_.socket_path, *device_, *this,
        vhost_user::Server::Options{.name = config_.name,
                                    .socket = config_.socket,
                                    .handshake_timeout = config_.handshake_timeout}));
    return {};
}

nlohmann::json VhostController::describe() const {
    nlohmann::json sessions = nlohmann::json::array();
    if (in_use()) {
        // vhost-user serves one frontend per socket at a time.
        sessions.push_back({{"vid", 0}, {"id", 0}, {"name", name()}, {"started", true}});
    }
    return {
        {"ctrlr", name()},
        {"cpumask", cpumask().to_string()},
        {"delay_base_us", coalescing_.delay_base_us},
        {"iops_threshold", coalescing_.iops_threshold},
        {"socket", socket_path()},
        {"sessions", std::move(sessions)},
        {"backend_specific", backend_specific()},
    };
}

nlohmann::json VhostController::config_calls() const {
    nlohmann::json calls = create_calls();
    // As SPDK's config writer: only settings that are not the defaults.
    if (coalescing_.delay_base_us != Coalescing{}.delay_base_us ||
        coalescing_.iops_threshold != Coalescing{}.iops_threshold) {
        calls.push_back({{"method", "vhost_controller_set_coalescing"},
                         {"params",
                          {{"ctrlr", name()},
                           {"delay_base_us", coalescing_.delay_base_us},
                           {"iops_threshold", coalescing_.iops_threshold}}}});
    }
    return calls;
}

VhostController::~VhostController() = default;

void VhostController::shutdown(std::move_only_function<void()> done) {
    if (!server_) {
        done();
        return;
    }
    server_->shutdown([this, alive = std::weak_ptr<int>(alive_), done = std::move(done)]() mutable {
        if (alive.lock()) {
            server_.reset();
        }
        done();
    });
}

void VhostController::report_broken(uint16_t index) {
    control_.post([this, index, alive = std::weak_ptr<int>(alive_)] {
        if (alive.lock() && server_) {
            server_->queue_broken(index);
        }
    });
}

void VhostController::start_queue(virtio::VirtqueueConfig config) {
    QueueSlot& slot = queues_[config.index];
    slot.reactor->post([this, &slot, config = std::move(config),
                        coalescing = coalescing_]() mutable {
        const uint16_t index = config.index;
        slot.failed_base = config.base;
        auto handler =
            device_->create_queue_handler(*slot.reactor, virtio::RunningQueue(std::move(config)));
        if (!handler) {
            LOG_ERROR(target, "{}: cannot start queue {}: {}", config_.name, index,
                      handler.error().describe());
            report_broken(index);
            return;
        }
        (*handler)->queue().set_broken_callback([this, index] { report_broken(index); });
        (*handler)->set_stats(*slot.stats);
        (*handler)->queue().set_coalescing(coalescing.delay_base_us, coalescing.iops_threshold);
        if (auto started = (*handler)->start(); !started) {
            LOG_ERROR(target, "{}: cannot start queue {}: {}", config_.name, index,
                      started.error().describe());
            report_broken(index);
            return;
        }
        LOG_DEBUG(target, "{}: queue {} started on reactor {} (core {})", config_.name, index,
                  slot.reactor->id(), slot.reactor->core());
        slot.handler = std::move(*handler);
    });
}

void VhostController::stop_queue(uint16_t index, StoppedCallback done) {
    QueueSlot& slot = queues_[index];
    slot.reactor->post([this, &slot, done = std::move(done)]() mutable {
        auto reply = [this](StoppedCallback cb, virtio::QueueStopResult result) {
            control_.post([cb = std::move(cb), result]() mutable { cb(result); });
        };
        if (!slot.handler) {
            reply(std::move(done), virtio::QueueStopResult{slot.failed_base, true});
            return;
        }
        slot.handler->stop(
            [this, &slot, reply, done = std::move(done)](virtio::QueueStopResult result) mutable {
                // The handler is inside its own call stack here: destroy it from a later message,
                // and only then answer, so that the session's "stopped" means the queue's memory
                // snapshot and fds are gone. The device (and its bdev) stays alive until then.
                slot.reactor->post([handler = std::move(slot.handler), device = device_, reply,
                                    done = std::move(done), result]() mutable {
                    handler.reset();
                    reply(std::move(done), result);
                });
            });
    });
}

void VhostController::set_call_fd(uint16_t index, UniqueFd call) {
    QueueSlot& slot = queues_[index];
    slot.reactor->post([&slot, call = std::move(call)]() mutable {
        if (slot.handler) {
            slot.handler->set_call_fd(std::move(call));
        }
    });
}

void VhostController::update_memory(uint16_t index, guest_memory::GuestMemory::Ptr memory,
                                    bool drain_old, std::move_only_function<void()> done) {
    QueueSlot& slot = queues_[index];
    slot.reactor->post(
        [this, &slot, memory = std::move(memory), drain_old, done = std::move(done)]() mutable {
            auto reply = [this](std::move_only_function<void()> cb) {
                control_.post([cb = std::move(cb)]() mutable { cb(); });
            };
            if (!slot.handler) {
                reply(std::move(done));  // failed to start: nothing holds the old table
                return;
            }
            slot.handler->update_memory(
                std::move(memory), drain_old,
                [reply, done = std::move(done)]() mutable { reply(std::move(done)); });
        });
}

void VhostController::notify_config_changed() {
    if (!server_) {
        return;
    }
    if (auto told = server_->notify_config_changed(); told) {
        LOG_INFO(target, "{}: told the frontend that the configuration changed", name());
    } else if (told.error().code != ENOTCONN) {
        LOG_WARN(target, "{}: the frontend was not told of the configuration change: {}", name(),
                 told.error().message);
    }
}

void VhostController::set_coalescing(const Coalescing& coalescing) {
    coalescing_ = coalescing;
    // Each running queue is reconfigured by its own reactor. A start message already queued
    // carries the old values, but this message runs after it on the same reactor; a queue
    // started from now on copies the new ones.
    for (QueueSlot& slot : queues_) {
        slot.reactor->post([&slot, coalescing] {
            if (slot.handler) {
                slot.handler->queue().set_coalescing(coalescing.delay_base_us,
                                                     coalescing.iops_threshold);
            }
        });
    }
}

std::vector<queue::QueueCounters> VhostController::queue_counters() const {
    std::vector<queue::QueueCounters> out;
    out.reserve(queues_.size());
    for (size_t i = 0; i < queues_.size(); ++i) {
        out.push_back(queue::QueueCounters::of(*queues_[i].stats, static_cast<uint16_t>(i),
                                               queues_[i].reactor->id()));
    }
    return out;
}

}  // namespace vhostd::targets

// Shard: queue and namespace lifecycle on one reactor, memory swaps, shadow doorbells.
#include "nvme/shard.hpp"

#include "base/event_fd.hpp"
#include "base/log.hpp"
#include "nvme/io_queue.hpp"

namespace vhostd::nvme {

Shard::Shard(ControllerCore& core, reactor::Reactor& reactor)
    : core_(core),
      reactor_(reactor),
      cqs_(size_t{core.max_qid()} + 1),
      sqs_(size_t{core.max_qid()} + 1),
      namespaces_(core.options.max_namespaces) {}

Shard::~Shard() {
    if (wake_watch_) {
        reactor_.unwatch_fd(*wake_watch_);
    }
}

Result<void> Shard::start() {
    wake_ = VHOSTD_TRY(make_event_fd());
    // The eventfd only has to end the reactor's sleep; the queues then poll.
    wake_watch_ = VHOSTD_TRY(reactor_.watch_wake_fd(wake_.get()));
    return {};
}

void Shard::kick() noexcept {
    // The caller stored the doorbell value first; with the queue's "armed, full barrier,
    // re-read the doorbell" this cannot miss both ways.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (armed_.load(std::memory_order_seq_cst) && wake_) {
        signal_event_fd(wake_.get());
    }
}

void Shard::enqueue(Op op) {
    ops_.push_back(std::move(op));
    if (!op_running_) {
        run_next();
    }
}

void Shard::run_next() {
    if (ops_.empty()) {
        op_running_ = false;
        return;
    }
    op_running_ = true;
    Op op = std::move(ops_.front());
    ops_.pop_front();
    // The next operation starts from a fresh message, never inside a completion callback.
    op([this] { reactor_.post([this] { run_next(); }); });
}

ShadowSlots Shard::shadow_slots(uint32_t index) const {
    if (!shadow_) {
        return {};
    }
    const uint64_t offset = uint64_t{index} * nvme_spec::kDoorbellSize;
    return ShadowSlots{
        .doorbell = static_cast<uint32_t*>(
            memory_->host_address(shadow_->doorbells + offset, sizeof(uint32_t))),
        .event_idx = static_cast<uint32_t*>(
            memory_->host_address(shadow_->event_idx + offset, sizeof(uint32_t))),
    };
}

void Shard::apply_shadow(uint16_t qid) {
    // 5.7: the admin queue never uses shadow doorbells (as Linux and SPDK have it).
    if (qid == 0) {
        return;
    }
    ShadowSlots sq = shadow_slots(nvme_spec::sq_doorbell_index(qid));
    ShadowSlots cq = shadow_slots(nvme_spec::cq_doorbell_index(qid));
    if (shadow_ && (!sq.doorbell || !sq.event_idx || !cq.doorbell || !cq.event_idx)) {
        core_.link.fatal_error("the shadow doorbell buffers are not in guest memory");
        return;
    }
    if (sqs_[qid] && sqs_[qid]->engine) {
        sqs_[qid]->engine->set_shadow(sq);
    }
    if (cqs_[qid]) {
        cqs_[qid]->set_shadow(cq.doorbell, cq.event_idx);
    }
}

void Shard::create_admin(const CqConfig& cq_config, const SqConfig& sq_config, uint64_t generation,
                         Created created) {
    enqueue([this, cq_config, sq_config, generation,
             created = std::move(created)](Done finished) mutable {
        auto cq = std::make_unique<CompletionQueue>(core_, cq_config);
        auto slot = std::make_unique<SqSlot>(sq_config);
        bool ok = cq->remap(memory_);
        auto engine = std::make_unique<AdminQueue>(*this, slot->state, *cq, memory_, generation);
        ok = ok && engine->ring_mapped();
        if (ok) {
            admin_ = engine.get();
            slot->engine = std::move(engine);
            cqs_[0] = std::move(cq);
            sqs_[0] = std::move(slot);
            admin_->start();
        }
        created(ok);
        finished();
    });
}

void Shard::create_cq(const CqConfig& config, Created created) {
    enqueue([this, config, created = std::move(created)](Done finished) mutable {
        auto cq = std::make_unique<CompletionQueue>(core_, config);
        const bool ok =
            config.qid != 0 && config.qid < cqs_.size() && !cqs_[config.qid] && cq->remap(memory_);
        if (ok) {
            if (shadow_) {
                // Older Linux drivers leave stale values in the shadow buffer across resets
                // (SPDK's target does the same): a new queue starts at zero.
                if (ShadowSlots slots = shadow_slots(nvme_spec::cq_doorbell_index(config.qid));
                    slots.doorbell) {
                    store_doorbell(slots.doorbell, 0);
                }
            }
            cqs_[config.qid] = std::move(cq);
            apply_shadow(config.qid);
        }
        created(ok);
        finished();
    });
}

std::unique_ptr<SubmissionQueue> Shard::make_io_engine(SqSlot& slot) {
    CompletionQueue& cq = *cqs_[slot.state.config.cqid];
    auto engine = std::make_unique<IoQueue>(*this, slot.state, cq, memory_);
    if (!engine->ring_mapped()) {
        return nullptr;
    }
    return engine;
}

void Shard::create_sq(const SqConfig& config, Created created) {
    enqueue([this, config, created = std::move(created)](Done finished) mutable {
        bool ok = config.qid != 0 && config.qid < sqs_.size() && !sqs_[config.qid] &&
                  config.cqid < cqs_.size() && cqs_[config.cqid];
        if (ok) {
            auto slot = std::make_unique<SqSlot>(config);
            slot->engine = make_io_engine(*slot);
            ok = slot->engine != nullptr;
            if (ok) {
                if (shadow_) {
                    if (ShadowSlots slots = shadow_slots(nvme_spec::sq_doorbell_index(config.qid));
                        slots.doorbell) {
                        store_doorbell(slots.doorbell, 0);
                    }
                }
                ++cqs_[config.cqid]->attached_sqs;
                sqs_[config.qid] = std::move(slot);
                apply_shadow(config.qid);
                sqs_[config.qid]->engine->start();
            }
        }
        created(ok);
        finished();
    });
}

void Shard::delete_sq(uint16_t qid, Done done) {
    enqueue([this, qid, done = std::move(done)](Done finished) mutable {
        if (qid == 0 || qid >= sqs_.size() || !sqs_[qid]) {
            done();
            finished();
            return;
        }
        auto after = [this, qid, done = std::move(done), finished = std::move(finished)]() mutable {
            // Posted: the engine's stop callback is still on the stack when it reports.
            reactor_.post(
                [this, qid, done = std::move(done), finished = std::move(finished)]() mutable {
                    const uint16_t cqid = sqs_[qid]->state.config.cqid;
                    sqs_[qid].reset();
                    if (cqs_[cqid] && cqs_[cqid]->attached_sqs > 0) {
                        --cqs_[cqid]->attached_sqs;
                    }
                    done();
                    finished();
                });
        };
        if (!sqs_[qid]->engine) {
            after();  // its ring was lost in a memory change: nothing runs
            return;
        }
        sqs_[qid]->engine->stop(std::move(after));
    });
}

void Shard::delete_cq(uint16_t qid, Done done) {
    enqueue([this, qid, done = std::move(done)](Done finished) mutable {
        if (qid != 0 && qid < cqs_.size()) {
            cqs_[qid].reset();
        }
        done();
        finished();
    });
}

void Shard::stop_io_engines(Done then) {
    auto remaining = std::make_shared<size_t>(0);
    auto shared_then = std::make_shared<Done>(std::move(then));
    auto one_stopped = [this, remaining, shared_then] {
        if (--*remaining == 0) {
            reactor_.post([shared_then] { (*shared_then)(); });
        }
    };
    std::vector<SubmissionQueue*> engines;
    for (size_t qid = 1; qid < sqs_.size(); ++qid) {
        if (sqs_[qid] && sqs_[qid]->engine) {
            engines.push_back(sqs_[qid]->engine.get());
        }
    }
    *remaining = engines.size() + 1;  // +1: released below, after every stop was started
    for (SubmissionQueue* engine : engines) {
        engine->stop(one_stopped);
    }
    one_stopped();
}

void Shard::set_memory(guest_memory::GuestMemory::Ptr memory, Done done) {
    enqueue([this, memory = std::move(memory), done = std::move(done)](Done finished) mutable {
        memory_ = std::move(memory);
        stop_io_engines([this, done = std::move(done), finished = std::move(finished)]() mutable {
            bool ok = true;
            for (auto& cq : cqs_) {
                if (cq && !cq->remap(memory_)) {
                    ok = false;
                }
            }
            if (admin_ != nullptr && !admin_->remap(memory_)) {
                ok = false;
            }
            for (size_t qid = 1; qid < sqs_.size(); ++qid) {
                if (!sqs_[qid]) {
                    continue;
                }
                sqs_[qid]->engine = make_io_engine(*sqs_[qid]);
                if (!sqs_[qid]->engine) {
                    ok = false;
                    continue;
                }
                apply_shadow(static_cast<uint16_t>(qid));
                sqs_[qid]->engine->start();
            }
            if (!ok) {
                // 7.x: the driver's queues are gone from the memory it gave us; nothing can be
                // completed any more.
                core_.link.fatal_error("a queue is not in guest memory after a mapping change");
            }
            done();
            finished();
        });
    });
}

void Shard::set_shadow(std::optional<ShadowConfig> shadow, Done done) {
    enqueue([this, shadow, done = std::move(done)](Done finished) mutable {
        const bool enabling = shadow.has_value();
        shadow_ = shadow;
        for (size_t qid = 1; qid < sqs_.size(); ++qid) {
            if (enabling) {
                // The shadow buffer takes over from the doorbell page: it starts with the
                // values the driver last rang (a driver that configured the buffers late).
                if (ShadowSlots s = shadow_slots(nvme_spec::sq_doorbell_index(qid));
                    s.doorbell && sqs_[qid]) {
                    store_doorbell(s.doorbell, sqs_[qid]->state.tail);
                }
                if (ShadowSlots s = shadow_slots(nvme_spec::cq_doorbell_index(qid));
                    s.doorbell && cqs_[qid]) {
                    store_doorbell(s.doorbell,
                                   core_.doorbells.load(nvme_spec::cq_doorbell_index(qid)));
                }
            }
            apply_shadow(static_cast<uint16_t>(qid));
        }
        done();
        finished();
    });
}

void Shard::reset(Done done) {
    enqueue([this, done = std::move(done)](Done finished) mutable {
        // The admin queue has nothing in flight here (its commands are on the control
        // reactor, whose late answers are dropped by generation): it goes at once.
        admin_ = nullptr;
        sqs_[0].reset();
        stop_io_engines([this, done = std::move(done), finished = std::move(finished)]() mutable {
            for (auto& slot : sqs_) {
                slot.reset();
            }
            for (auto& cq : cqs_) {
                cq.reset();
            }
            shadow_.reset();
            done();
            finished();
        });
    });
}

void Shard::attach_namespace(std::shared_ptr<const Namespace> ns, Done done) {
    enqueue([this, ns = std::move(ns), done = std::move(done)](Done finished) mutable {
        const uint32_t index = ns->nsid() - 1;
        if (index < namespaces_.size() && !namespaces_[index]) {
            namespaces_[index] = std::make_unique<NsChannel>(reactor_, std::move(ns));
        }
        done();
        finished();
    });
}

void Shard::detach_namespace(uint32_t nsid, Done done) {
    enqueue([this, nsid, done = std::move(done)](Done finished) mutable {
        if (nsid - 1 >= namespaces_.size() || !namespaces_[nsid - 1]) {
            done();
            finished();
            return;
        }
        NsChannel* channel = namespaces_[nsid - 1].get();
        detaching_.push_back(std::move(namespaces_[nsid - 1]));
        channel->when_idle(
            [this, channel, done = std::move(done), finished = std::move(finished)]() mutable {
                std::erase_if(detaching_, [channel](const auto& c) { return c.get() == channel; });
                done();
                finished();
            });
    });
}

namespace {

// The flushes of a normal shutdown: one request per namespace, counted down.
struct ShutdownFlush final : block::IoCompletion {
    std::vector<block::IoRequest> requests;
    size_t remaining = 0;
    Shard::Done done;
    void io_complete(block::IoRequest&) noexcept override {
        if (--remaining == 0) {
            std::exchange(done, nullptr)();
        }
    }
};

}  // namespace

void Shard::flush_namespaces(Done done) {
    enqueue([this, done = std::move(done)](Done finished) mutable {
        auto flush = std::make_shared<ShutdownFlush>();
        std::vector<NsChannel*> channels;
        for (auto& channel : namespaces_) {
            if (channel && channel->ready() && channel->ns().bdev().capabilities().flush) {
                channels.push_back(channel.get());
            }
        }
        if (channels.empty()) {
            done();
            finished();
            return;
        }
        flush->requests.resize(channels.size());
        flush->remaining = channels.size();
        flush->done = [this, flush, done = std::move(done),
                       finished = std::move(finished)]() mutable {
            // Posted: the last completion is still on the stack; `flush` lives until then.
            reactor_.post(
                [flush, done = std::move(done), finished = std::move(finished)]() mutable {
                    done();
                    finished();
                });
        };
        for (size_t i = 0; i < channels.size(); ++i) {
            flush->requests[i] =
                block::IoRequest{.type = block::IoType::flush, .completion = flush.get()};
            channels[i]->submit(flush->requests[i]);
        }
    });
}

void Shard::stop(Done done) {
    reset([] {});
    for (uint32_t nsid = 1; nsid <= namespaces_.size(); ++nsid) {
        detach_namespace(nsid, [] {});
    }
    enqueue([this, done = std::move(done)](Done finished) mutable {
        if (wake_watch_) {
            reactor_.unwatch_fd(*wake_watch_);
            wake_watch_.reset();
        }
        // The owner may destroy the shard once `done` ran: the next-operation message is
        // posted first, so it runs before that.
        finished();
        done();
    });
}

void Shard::complete_admin(uint32_t slot, uint64_t generation, Status status, uint32_t dw0) {
    if (admin_ != nullptr && admin_->generation() == generation) {
        admin_->complete_admin(slot, status, dw0);
    }
}

void Shard::complete_event(uint16_t cid, uint64_t generation, Status status, uint32_t dw0) {
    if (admin_ != nullptr && admin_->generation() == generation) {
        admin_->complete_event(cid, status, dw0);
    }
}

}  // namespace vhostd::nvme

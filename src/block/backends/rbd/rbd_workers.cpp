// RbdWorkers: a thread per blocking job, joined when its continuation runs.
#include "block/backends/rbd/rbd_workers.hpp"

#include <vector>

namespace vhostd::block {

RbdWorkers::RbdWorkers(reactor::Reactor& control)
    : control_(control), state_(std::make_shared<State>()) {}

RbdWorkers::~RbdWorkers() {
    drain();
}

void RbdWorkers::drain() {
    // Every job's continuation runs, here, once its thread has been joined: they release what
    // the jobs opened (an image closed after the size refresh it waited for, a connection made
    // for a create nobody waits for any more). Running one may start a last job (an image
    // closed lets go of its cluster, which disconnects): repeat until nothing is left.
    for (;;) {
        std::map<uint64_t, std::thread> threads;
        std::map<uint64_t, std::move_only_function<void()>> continuations;
        {
            std::lock_guard lock(state_->mutex);
            threads = std::move(state_->threads);
            continuations = std::move(state_->continuations);
            state_->threads.clear();
            state_->continuations.clear();
        }
        if (threads.empty() && continuations.empty()) {
            return;
        }
        for (auto& [id, thread] : threads) {
            thread.join();
        }
        for (auto& [id, done] : continuations) {
            if (done) {
                done();
            }
        }
        continuations.clear();
    }
}

void RbdWorkers::run(std::move_only_function<void()> job, std::move_only_function<void()> done) {
    std::lock_guard lock(state_->mutex);
    const uint64_t id = state_->next_id++;
    state_->continuations.emplace(id, std::move(done));
    std::weak_ptr<State> weak = state_;
    reactor::Reactor& control = control_;
    state_->threads.emplace(id, std::thread([job = std::move(job), weak, id, &control]() mutable {
                                job();
                                job = nullptr;  // its captures go here, on this thread
                                // The reactor outlives the workers (their owner joins us before
                                // it goes), so posting is safe; the state may be gone.
                                control.post([weak, id] {
                                    if (auto state = weak.lock()) {
                                        finish(state, id);
                                    }
                                });
                            }));
}

void RbdWorkers::finish(const std::shared_ptr<State>& state, uint64_t id) {
    std::thread thread;
    std::move_only_function<void()> done;
    {
        std::lock_guard lock(state->mutex);
        auto t = state->threads.find(id);
        if (t == state->threads.end()) {
            return;  // joined by the destructor
        }
        thread = std::move(t->second);
        state->threads.erase(t);
        auto c = state->continuations.find(id);
        if (c != state->continuations.end()) {
            done = std::move(c->second);
            state->continuations.erase(c);
        }
    }
    thread.join();  // it has posted this message: it is returning
    if (done) {
        done();
    }
}

size_t RbdWorkers::running() const {
    std::lock_guard lock(state_->mutex);
    return state_->threads.size();
}

}  // namespace vhostd::block

// RbdWorkers: runs the RBD backend's blocking librados/librbd calls (connect, open, close,
// resize: seconds when the cluster is slow or gone) on threads of their own, never on a
// reactor, and runs each job's continuation on the control reactor. One thread per job: a call
// stuck on an unreachable cluster holds up nothing else; every call is bounded by librados'
// timeouts, which the backend always sets.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "reactor/reactor.hpp"

namespace vhostd::block {

class RbdWorkers {
  public:
    explicit RbdWorkers(reactor::Reactor& control);
    // drain(). Call on the control reactor's thread.
    ~RbdWorkers();
    RbdWorkers(const RbdWorkers&) = delete;
    RbdWorkers& operator=(const RbdWorkers&) = delete;

    // Runs `job` on a new thread, then `done` on the control reactor. They share what they
    // need through captured state; `job` must not hold objects whose destruction belongs on
    // the control reactor (it is destroyed on its thread). Any thread.
    void run(std::move_only_function<void()> job, std::move_only_function<void()> done);

    // Joins every job (each ends within librados' timeouts) and runs the continuations not run
    // yet, until none is left: what the owner calls when it goes (the reactor may not run any
    // more), so that what the jobs opened is released and no cycle through a continuation
    // remains. Control reactor's thread.
    void drain();

    // Jobs started and not yet finished (control reactor).
    [[nodiscard]] size_t running() const;

  private:
    struct State {
        mutable std::mutex mutex;  // control path only: jobs start and end here, never I/O
        uint64_t next_id = 1;
        std::map<uint64_t, std::thread> threads;
        std::map<uint64_t, std::move_only_function<void()>> continuations;
    };
    static void finish(const std::shared_ptr<State>& state, uint64_t id);

    reactor::Reactor& control_;
    std::shared_ptr<State> state_;
};

}  // namespace vhostd::block

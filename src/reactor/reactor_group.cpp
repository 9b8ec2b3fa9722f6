// ReactorGroup: creation, thread start and orderly stop.
#include "reactor/reactor_group.hpp"

#include <latch>

namespace vhostd::reactor {

Result<std::unique_ptr<ReactorGroup>> ReactorGroup::create(const CpuMask& cores,
                                                           ReactorOptions options) {
    if (cores.empty()) {
        return make_error(EINVAL, "reactor cpumask is empty");
    }
    std::unique_ptr<ReactorGroup> group(new ReactorGroup(cores));
    unsigned id = 0;
    for (unsigned core : cores.cores()) {
        options.core = static_cast<int>(core);
        group->reactors_.push_back(VHOSTD_TRY(Reactor::create(id++, options)));
    }
    return group;
}

ReactorGroup::~ReactorGroup() {
    stop();
}

void ReactorGroup::start() {
    // Returns once every reactor is polling: start-up work (the wake-up cost measurement,
    // with its thread and eventfd) is over before the daemon creates its sockets.
    std::latch running(static_cast<std::ptrdiff_t>(reactors_.size()));
    for (auto& reactor : reactors_) {
        threads_.emplace_back([r = reactor.get(), &running] {
            pthread_setname_np(pthread_self(), fmt::format("reactor_{}", r->core()).c_str());
            r->run([&running] { running.count_down(); });
        });
    }
    running.wait();
}

void ReactorGroup::stop() {
    for (auto& reactor : reactors_) {
        reactor->request_stop();
    }
    for (auto& thread : threads_) {
        if (thread.joinable()) {
            thread.join();
        }
    }
    threads_.clear();
}

Reactor* ReactorGroup::on_core(unsigned core) {
    for (auto& reactor : reactors_) {
        if (reactor->core() == static_cast<int>(core)) {
            return reactor.get();
        }
    }
    return nullptr;
}

std::vector<Reactor*> ReactorGroup::select(const CpuMask& mask) {
    std::vector<Reactor*> out;
    for (auto& reactor : reactors_) {
        if (mask.test(static_cast<unsigned>(reactor->core()))) {
            out.push_back(reactor.get());
        }
    }
    return out;
}

}  // namespace vhostd::reactor

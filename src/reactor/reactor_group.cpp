// ReactorGroup: creation, thread start and orderly stop.
#include "reactor/reactor_group.hpp"

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
    for (auto& reactor : reactors_) {
        threads_.emplace_back([r = reactor.get()] {
            pthread_setname_np(pthread_self(), fmt::format("reactor_{}", r->core()).c_str());
            r->run();
        });
    }
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

// ReactorGroup: the I/O reactors of the process, one pinned thread per core of the cpumask.
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "base/cpu_mask.hpp"
#include "base/error.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::reactor {

class ReactorGroup {
  public:
    // Reactor ids are 0..n-1 in ascending core order; `options.core` is ignored.
    static Result<std::unique_ptr<ReactorGroup>> create(const CpuMask& cores,
                                                        ReactorOptions options);
    ~ReactorGroup();

    void start();
    // Asks every reactor to stop and joins the threads. Idempotent.
    void stop();

    [[nodiscard]] const CpuMask& cpumask() const { return cpumask_; }
    [[nodiscard]] size_t size() const { return reactors_.size(); }
    [[nodiscard]] Reactor& at(size_t index) { return *reactors_[index]; }
    // The reactor pinned to `core`, or nullptr.
    [[nodiscard]] Reactor* on_core(unsigned core);
    // Reactors whose cores are in `mask`, in core order.
    [[nodiscard]] std::vector<Reactor*> select(const CpuMask& mask);

  private:
    explicit ReactorGroup(CpuMask cpumask) : cpumask_(cpumask) {}

    CpuMask cpumask_;
    std::vector<std::unique_ptr<Reactor>> reactors_;
    std::vector<std::thread> threads_;
};

}  // namespace vhostd::reactor

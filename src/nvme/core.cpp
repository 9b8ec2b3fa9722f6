// ControllerCore: per-queue counters and shared settings.
#include "nvme/core.hpp"

namespace vhostd::nvme {

ControllerCore::ControllerCore(const ControllerOptions& opts, reactor::Reactor& control_reactor,
                               DoorbellPage page, pci::Interrupts& irqs, ControlLink& control_link)
    : options(opts),
      control(control_reactor),
      doorbells(std::move(page)),
      interrupts(irqs),
      link(control_link),
      queue_stats_(std::make_unique<queue::QueueStats[]>(size_t{opts.num_io_queues} + 1)),
      io_counters_(std::make_unique<IoCounters[]>(size_t{opts.num_io_queues} + 1)),
      vectors_(irqs.msix_vectors()),
      coalescing_disabled_(std::make_unique<std::atomic<bool>[]>(irqs.msix_vectors())) {}

}  // namespace vhostd::nvme

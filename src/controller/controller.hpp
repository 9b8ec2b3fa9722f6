// Controller: what every served controller is to the rest of vhostd, whatever its transport
// and device (a vhost-user-blk or -scsi controller today, an NVMe controller over vfio-user
// next): a name, a kind, the reactors serving it, whether a frontend holds it, how it is
// listed and saved, its per-queue statistics, and an orderly shutdown. RPC, save_config and
// metrics see controllers through this interface only. Control reactor only.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/cpu_mask.hpp"
#include "queue/queue_stats.hpp"

namespace vhostd::controller {

class Controller {
  public:
    virtual ~Controller() = default;

    [[nodiscard]] virtual const std::string& name() const = 0;
    // The kind that created it ("vhost_blk"); also its save_config subsystem.
    [[nodiscard]] virtual std::string_view kind() const = 0;
    // The family of methods that list and delete it ("vhost": vhost_get_controllers and
    // vhost_delete_controller), as SPDK groups them.
    [[nodiscard]] virtual std::string_view family() const = 0;
    [[nodiscard]] virtual const CpuMask& cpumask() const = 0;
    // A frontend is attached: deleting the controller is refused.
    [[nodiscard]] virtual bool in_use() const = 0;

    // The family's listing object (SPDK's vhost_get_controllers entry, ...).
    [[nodiscard]] virtual nlohmann::json describe() const = 0;
    // The {"method", "params"} calls that recreate it, creation first.
    [[nodiscard]] virtual nlohmann::json config_calls() const = 0;
    // Per-queue counters since creation; any thread.
    [[nodiscard]] virtual std::vector<queue::QueueCounters> queue_counters() const = 0;

    // Stops accepting frontends, stops every queue after its requests in flight, then calls
    // `done` on the control reactor.
    virtual void shutdown(std::move_only_function<void()> done) = 0;
    // After shutdown, before destruction on deletion: lets go of what it holds (bdev claims).
    virtual void release() = 0;
};

}  // namespace vhostd::controller

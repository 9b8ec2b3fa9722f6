// LunChannel: a logical unit as one TargetChannel (one reactor) reaches it: the bdev's backend
// channel on that reactor and the count of tasks that still reference it. Internal to the core.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "block/bdev.hpp"
#include "block/io_request.hpp"
#include "scsi/logical_unit.hpp"
#include "scsi/task.hpp"

namespace vhostd::scsi {

class TargetChannel;

class LunChannel final : public block::IoCompletion {
  public:
    LunChannel(TargetChannel& owner, std::shared_ptr<LogicalUnit> unit,
               std::unique_ptr<block::BackendChannel> backend);
    LunChannel(const LunChannel&) = delete;
    LunChannel& operator=(const LunChannel&) = delete;

    [[nodiscard]] LogicalUnit& unit() const { return *unit_; }
    [[nodiscard]] uint64_t lun() const { return unit_->lun(); }

    // Submits task.io (prepared by a command) to the backend; the command's continuation runs
    // when it completes.
    void submit(Task& task) noexcept;
    void io_complete(block::IoRequest& request) noexcept override;

    size_t tasks = 0;  // tasks referencing this channel (executing or awaiting completion)
    std::move_only_function<void()> on_drained;  // detach: runs once tasks == 0

  private:
    TargetChannel& owner_;
    const std::shared_ptr<LogicalUnit> unit_;
    const std::unique_ptr<block::BackendChannel> backend_;
};

}  // namespace vhostd::scsi

// LunChannel: a logical unit as one TargetChannel (one reactor) reaches it: the bdev's channel
// on that reactor (opened asynchronously: until it is there the LUN is "becoming ready") and
// the count of tasks that still reference it. Internal to the core.
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
    // Starts opening the bdev's channel on the owner's reactor.
    LunChannel(TargetChannel& owner, std::shared_ptr<LogicalUnit> unit);
    LunChannel(const LunChannel&) = delete;
    LunChannel& operator=(const LunChannel&) = delete;

    [[nodiscard]] LogicalUnit& unit() const { return *unit_; }
    [[nodiscard]] uint64_t lun() const { return unit_->lun(); }
    // The bdev's channel is open: commands that need the medium may run.
    [[nodiscard]] bool ready() const { return backend_ != nullptr; }
    // Opening the bdev's channel failed: the LUN stays not ready.
    [[nodiscard]] bool open_failed() const { return open_failed_; }

    // Submits task.io (prepared by a command) to the backend; the command's continuation runs
    // when it completes.
    void submit(Task& task) noexcept;
    void io_complete(block::IoRequest& request) noexcept override;

    size_t tasks = 0;  // tasks referencing this channel (executing or awaiting completion)
    std::move_only_function<void()> on_drained;  // detach: runs once tasks == 0

  private:
    TargetChannel& owner_;
    const std::shared_ptr<LogicalUnit> unit_;
    std::unique_ptr<block::IoChannel> backend_;
    bool open_failed_ = false;
    // The open callback checks this: the channel may be detached before the bdev answers.
    std::shared_ptr<LunChannel*> alive_ = std::make_shared<LunChannel*>(this);
};

}  // namespace vhostd::scsi

// Backend submission and I/O completion for one logical unit on one reactor.
#include "scsi/lun_channel.hpp"

#include <cstddef>
#include <type_traits>

#include "base/log.hpp"
#include "scsi/command.hpp"
#include "scsi/target_channel.hpp"

namespace vhostd::scsi {

namespace {

static_assert(std::is_standard_layout_v<Task>, "task_of() needs offsetof(Task, io)");

Task& task_of(block::IoRequest& request) {
    return *reinterpret_cast<Task*>(reinterpret_cast<char*>(&request) - offsetof(Task, io));
}

}  // namespace

LunChannel::LunChannel(TargetChannel& owner, std::shared_ptr<LogicalUnit> unit)
    : owner_(owner), unit_(std::move(unit)) {
    // The bdev layer's channel, so SCSI I/O is counted in the bdev's statistics and obeys QoS.
    block::open_channel(
        *unit_->bdev(), owner_.reactor(),
        [alive = std::weak_ptr<LunChannel*>(alive_)](
            Result<std::unique_ptr<block::IoChannel>> channel) {
            auto self = alive.lock();
            if (!self) {
                return;  // detached meanwhile: the channel is dropped here, on its reactor
            }
            LunChannel& lun = **self;
            if (!channel) {
                lun.open_failed_ = true;
                LOG_RATELIMITED(scsi, err, "target {} LUN {}: bdev {} cannot be opened: {}",
                                lun.owner_.target_id(), lun.lun(), lun.unit_->bdev()->name(),
                                channel.error().describe());
                return;
            }
            lun.backend_ = std::move(*channel);
        });
}

void LunChannel::submit(Task& task) noexcept {
    task.io.completion = this;
    task.io.status = block::IoStatus::success;
    backend_->submit(task.io);
}

void LunChannel::io_complete(block::IoRequest& request) noexcept {
    Task& task = task_of(request);
    // An aborted or orphaned task stops at its next step boundary: the I/O that was with the
    // backend has returned, so nothing references the buffer any more.
    if (task.state.abort_requested || task.state.lun_removed) {
        owner_.finish(task);
        return;
    }
    if (continue_io(Command{task, this, owner_}) == Disposition::done) {
        owner_.finish(task);
    }
}

}  // namespace vhostd::scsi

// TargetChannel: one transport queue's path into a target, on one reactor. It holds a
// LunChannel (backend channel + in-flight list) per attached logical unit, executes tasks and
// runs task management. Created, used and destroyed on its reactor's thread only.
//
// Completion rule: TaskCompletion::task_complete and TMF/detach callbacks are never called from
// inside the call that started them; work without I/O completes from this channel's poller.
// Destroy a TargetChannel only when in_flight() == 0 (the transport drains its queue first)
// and not from inside a completion callback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "base/error.hpp"
#include "reactor/poller.hpp"
#include "reactor/reactor.hpp"
#include "scsi/logical_unit.hpp"
#include "scsi/task.hpp"

namespace vhostd::scsi {

class LunChannel;

// Outcome of a task management function (SAM-5 7.11 service responses).
enum class TmfResponse : uint8_t {
    complete,       // FUNCTION COMPLETE (also: ABORT TASK found no such task)
    succeeded,      // FUNCTION SUCCEEDED
    rejected,       // FUNCTION REJECTED
    incorrect_lun,  // the LUN is not attached
};
using TmfDone = std::move_only_function<void(TmfResponse)>;

class TargetChannel : public reactor::Poller {
  public:
    // Registers the channel's poller on `reactor`; call on that reactor's thread.
    TargetChannel(reactor::Reactor& reactor, uint32_t target_id);
    ~TargetChannel() override;
    TargetChannel(const TargetChannel&) = delete;
    TargetChannel& operator=(const TargetChannel&) = delete;

    [[nodiscard]] uint32_t target_id() const { return target_id_; }
    [[nodiscard]] reactor::Reactor& reactor() const { return reactor_; }

    // Makes `unit` reachable from this queue and starts opening its bdev's channel on this
    // reactor; until that is open the LUN answers NOT READY (becoming ready). EEXIST if its
    // LUN is already attached.
    Result<void> attach(std::shared_ptr<LogicalUnit> unit);
    // Makes LUN `lun` unreachable at once (new tasks get LOGICAL UNIT NOT SUPPORTED); tasks in
    // flight complete with CHECK CONDITION / ABORTED COMMAND when their I/O returns, then the
    // bdev channel is destroyed and `done` runs (never inline). No-op + `done` if not attached.
    void detach(uint64_t lun, std::move_only_function<void()> done);
    [[nodiscard]] bool has_lun(uint64_t lun) const;

    // Executes one command; completion comes later through task.completion.
    void execute(Task& task) noexcept;

    // Task management (SAM-5 7). Aborted tasks complete with status TASK ABORTED and
    // task.aborted set, once their backend I/O (which cannot be recalled) returns; `done` runs
    // after every task it aborted has completed. A LOGICAL UNIT RESET / I_T NEXUS RESET also
    // needs LogicalUnit::notify_reset() / notify_nexus_reset() once, after all queues are done.
    void abort_task(uint64_t lun, uint64_t tag, TmfDone done);
    void abort_task_set(uint64_t lun, uint32_t initiator, TmfDone done);
    void reset_lun(uint64_t lun, TmfDone done);
    void reset_nexus(uint32_t initiator, TmfDone done);  // every LUN of this target

    // Tasks executed and not yet completed.
    [[nodiscard]] size_t in_flight() const { return in_flight_; }
    // The attached LUNs, ascending (REPORT LUNS).
    [[nodiscard]] size_t lun_ids(uint64_t* out, size_t max) const;

    reactor::PollResult poll() noexcept override;
    bool enter_interrupt_mode() noexcept override;

  private:
    friend class LunChannel;

    LunChannel* find(uint64_t lun) const;
    void defer(Task& task) noexcept;   // completes from the poller
    void finish(Task& task) noexcept;  // hands back to the transport
    // Marks `task` aborted; false if it already was.
    bool abort(Task& task) noexcept;
    // Runs `done` from the poller once no aborted task is in flight.
    void when_aborts_done(std::move_only_function<void()> done);
    template <class Match>
    void abort_matching(Match match, TmfDone done);
    void reap_detached() noexcept;

    reactor::Reactor& reactor_;
    const uint32_t target_id_;
    std::vector<std::unique_ptr<LunChannel>> luns_;         // attached, by LUN
    std::vector<std::unique_ptr<LunChannel>> detaching_;    // draining, then destroyed
    std::vector<std::move_only_function<void()>> waiters_;  // TMFs/detaches waiting for tasks
    Task* in_flight_head_ = nullptr;  // every executed task until it completes
    Task* deferred_head_ = nullptr;   // tasks completed without I/O, for the poller
    Task* deferred_tail_ = nullptr;
    size_t in_flight_ = 0;
    size_t aborting_ = 0;  // aborted tasks still in flight
};

}  // namespace vhostd::scsi

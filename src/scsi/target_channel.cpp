// Task execution, deferred completion, task management and LUN attach/detach on one reactor.
#include "scsi/target_channel.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "scsi/command.hpp"
#include "scsi/lun_channel.hpp"
#include "scsi/sense.hpp"

namespace vhostd::scsi {
namespace {

// Commands a logical unit answers whether or not its medium is ready (SPC-4 5.15).
bool needs_medium(uint8_t opcode) {
    constexpr uint8_t kInquiry = 0x12;
    constexpr uint8_t kReportLuns = 0xa0;
    constexpr uint8_t kRequestSense = 0x03;
    return opcode != kInquiry && opcode != kReportLuns && opcode != kRequestSense;
}

}  // namespace

TargetChannel::TargetChannel(reactor::Reactor& reactor, uint32_t target_id)
    : reactor_(reactor), target_id_(target_id) {
    reactor_.add_poller(*this);
}

TargetChannel::~TargetChannel() {
    reactor_.remove_poller(*this);
    if (in_flight_ != 0) {
        // The owner broke the drain-before-destroy rule; these tasks never complete.
        LOG_ERROR(scsi, "target {}: channel destroyed with {} tasks in flight", target_id_,
                  in_flight_);
    }
}

Result<void> TargetChannel::attach(std::shared_ptr<LogicalUnit> unit) {
    if (!unit) {
        return make_error(EINVAL, "target {}: no logical unit", target_id_);
    }
    if (find(unit->lun()) != nullptr) {
        return make_error(EEXIST, "target {}: LUN {} already attached", target_id_, unit->lun());
    }
    auto channel = std::make_unique<LunChannel>(*this, std::move(unit));
    auto at = std::lower_bound(luns_.begin(), luns_.end(), channel->lun(),
                               [](const auto& c, uint64_t lun) { return c->lun() < lun; });
    luns_.insert(at, std::move(channel));
    return {};
}

void TargetChannel::detach(uint64_t lun, std::move_only_function<void()> done) {
    auto it =
        std::find_if(luns_.begin(), luns_.end(), [&](const auto& c) { return c->lun() == lun; });
    if (it == luns_.end()) {
        when_aborts_done(std::move(done));  // from the poller, never inline
        return;
    }
    LunChannel& channel = **it;
    for (Task* t = in_flight_head_; t != nullptr; t = t->state.next) {
        if (t->state.lun == &channel) {
            t->state.lun_removed = true;
        }
    }
    channel.on_drained = std::move(done);
    detaching_.push_back(std::move(*it));
    luns_.erase(it);
}

bool TargetChannel::has_lun(uint64_t lun) const {
    return find(lun) != nullptr;
}

size_t TargetChannel::lun_ids(uint64_t* out, size_t max) const {
    const size_t n = std::min(max, luns_.size());
    for (size_t i = 0; i < n; ++i) {
        out[i] = luns_[i]->lun();
    }
    return n;
}

LunChannel* TargetChannel::find(uint64_t lun) const {
    for (const auto& c : luns_) {
        if (c->lun() == lun) {
            return c.get();
        }
    }
    return nullptr;
}

void TargetChannel::execute(Task& task) noexcept {
    task.status = status::good;
    task.aborted = false;
    task.overrun = false;
    task.sense_length = 0;
    task.data_transferred = 0;
    task.state.step = detail::Step::idle;
    task.state.abort_requested = false;
    task.state.lun_removed = false;
    task.state.deferred_next = nullptr;

    // In-flight list: TMFs and detach find tasks here.
    task.state.prev = nullptr;
    task.state.next = in_flight_head_;
    if (in_flight_head_ != nullptr) {
        in_flight_head_->state.prev = &task;
    }
    in_flight_head_ = &task;
    ++in_flight_;

    LunChannel* lun = find(task.lun);
    task.state.lun = lun;
    if (lun != nullptr) {
        ++lun->tasks;
    }
    // SPC-4 5.15 (and the LOGICAL UNIT NOT READY sense codes): until the bdev's channel is
    // open the LUN answers NOT READY to commands that need the medium.
    if (lun != nullptr && !lun->ready() && needs_medium(task.cdb[0])) {
        set_check_condition(task, lun->open_failed() ? sense::not_ready_manual_intervention
                                                     : sense::becoming_ready);
        defer(task);
        return;
    }
    if (dispatch(Command{task, lun, *this}) == Disposition::done) {
        defer(task);
    }
}

void TargetChannel::defer(Task& task) noexcept {
    task.state.step = detail::Step::deferred;
    task.state.deferred_next = nullptr;
    if (deferred_tail_ != nullptr) {
        deferred_tail_->state.deferred_next = &task;
    } else {
        deferred_head_ = &task;
    }
    deferred_tail_ = &task;
}

void TargetChannel::finish(Task& task) noexcept {
    detail::TaskState& s = task.state;
    if (s.prev != nullptr) {
        s.prev->state.next = s.next;
    } else {
        in_flight_head_ = s.next;
    }
    if (s.next != nullptr) {
        s.next->state.prev = s.prev;
    }
    s.prev = s.next = nullptr;
    --in_flight_;
    if (s.abort_requested) {
        // SAM-5 5.6: an aborted task ends with TASK ABORTED (the transport may report it its
        // own way); nothing it transferred is acknowledged.
        --aborting_;
        task.status = status::task_aborted;
        task.aborted = true;
        task.sense_length = 0;
        task.data_transferred = 0;
    } else if (s.lun_removed && s.step != detail::Step::deferred) {
        set_check_condition(task, sense::lun_communication_failure);
        task.data_transferred = 0;
    }
    if (s.lun != nullptr) {
        --s.lun->tasks;
        s.lun = nullptr;
    }
    s.step = detail::Step::idle;
    task.completion->task_complete(task);
}

bool TargetChannel::abort(Task& task) noexcept {
    if (task.state.abort_requested) {
        return false;
    }
    task.state.abort_requested = true;
    ++aborting_;
    return true;
}

void TargetChannel::when_aborts_done(std::move_only_function<void()> done) {
    waiters_.push_back(std::move(done));
}

template <class Match>
void TargetChannel::abort_matching(Match match, TmfDone done) {
    for (Task* t = in_flight_head_; t != nullptr; t = t->state.next) {
        if (match(*t)) {
            abort(*t);
        }
    }
    when_aborts_done([done = std::move(done)]() mutable { done(TmfResponse::complete); });
}

void TargetChannel::abort_task(uint64_t lun, uint64_t tag, TmfDone done) {
    if (find(lun) == nullptr) {
        when_aborts_done([done = std::move(done)]() mutable { done(TmfResponse::incorrect_lun); });
        return;
    }
    // SAM-5 7.2: ABORT TASK of a task that is not there still returns FUNCTION COMPLETE.
    abort_matching([&](const Task& t) { return t.lun == lun && t.tag == tag; }, std::move(done));
}

void TargetChannel::abort_task_set(uint64_t lun, uint32_t initiator, TmfDone done) {
    if (find(lun) == nullptr) {
        when_aborts_done([done = std::move(done)]() mutable { done(TmfResponse::incorrect_lun); });
        return;
    }
    // SAM-5 7.3: the task set of this I_T_L nexus only.
    abort_matching([&](const Task& t) { return t.lun == lun && t.initiator == initiator; },
                   std::move(done));
}

void TargetChannel::reset_lun(uint64_t lun, TmfDone done) {
    if (find(lun) == nullptr) {
        when_aborts_done([done = std::move(done)]() mutable { done(TmfResponse::incorrect_lun); });
        return;
    }
    // SAM-5 7.7: every task of the logical unit, from every initiator.
    abort_matching([&](const Task& t) { return t.lun == lun; }, std::move(done));
}

void TargetChannel::reset_nexus(uint32_t initiator, TmfDone done) {
    // SAM-5 7.6: every task of the I_T nexus, on every LUN of the target.
    abort_matching([&](const Task& t) { return t.initiator == initiator; }, std::move(done));
}

void TargetChannel::reap_detached() noexcept {
    for (size_t i = 0; i < detaching_.size();) {
        if (detaching_[i]->tasks == 0) {
            auto channel = std::move(detaching_[i]);
            detaching_.erase(detaching_.begin() + static_cast<std::ptrdiff_t>(i));
            auto done = std::move(channel->on_drained);
            channel.reset();  // destroys the backend channel: nothing of it is in flight
            if (done) {
                done();
            }
        } else {
            ++i;
        }
    }
}

reactor::PollResult TargetChannel::poll() noexcept {
    bool busy = false;
    // Only what was queued before this poll: tasks executed by the callbacks wait for the next
    // iteration, which bounds the work done here.
    Task* batch = deferred_head_;
    deferred_head_ = deferred_tail_ = nullptr;
    while (batch != nullptr) {
        Task* task = batch;
        batch = task->state.deferred_next;
        task->state.deferred_next = nullptr;
        finish(*task);
        busy = true;
    }
    if (!detaching_.empty()) {
        reap_detached();
    }
    if (aborting_ == 0 && !waiters_.empty()) {
        auto waiters = std::move(waiters_);
        waiters_.clear();
        for (auto& done : waiters) {
            done();
        }
        busy = true;
    }
    return busy ? reactor::PollResult::busy : reactor::PollResult::idle;
}

bool TargetChannel::enter_interrupt_mode() noexcept {
    return deferred_head_ == nullptr && (waiters_.empty() || aborting_ != 0) &&
           std::none_of(detaching_.begin(), detaching_.end(),
                        [](const auto& c) { return c->tasks == 0; });
}

}  // namespace vhostd::scsi

// Controller state (NVMe 1.4 3.1.5, 3.1.6, 7.6): CC.EN 0->1 brings the admin queue up and
// sets CSTS.RDY; CC.EN 1->0 is a controller reset that deletes every queue once its requests
// in flight are done and only then clears CSTS.RDY; CC.SHN starts a shutdown that stops every
// queue, flushes volatile caches (normal shutdown) and then reports CSTS.SHST complete. One
// transition runs at a time; when it ends the registers are looked at again, so a driver that
// toggles CC faster than queues drain is followed step by step.
#include "base/log.hpp"
#include "nvme/controller.hpp"

namespace vhostd::nvme {

using namespace nvme_spec;

void Controller::cc_written() {
    evaluate();
}

bool Controller::disabled() const {
    return !transition_busy_ && !admin_live_ && registers_.csts() == 0 && !io_queues_exist();
}

bool Controller::io_queues_exist() const {
    for (size_t qid = 1; qid < sqs_.size(); ++qid) {
        if (sqs_[qid].state != QueueEntry::State::none ||
            cqs_[qid].state != QueueEntry::State::none) {
            return true;
        }
    }
    return false;
}

void Controller::evaluate() {
    if (transition_busy_ || shutting_down_) {
        return;  // finish_transition() comes back here
    }
    const uint32_t cc_value = registers_.cc();
    const uint32_t csts_value = registers_.csts();
    if ((cc_value & cc::kEnable) == 0) {
        if (!disabled()) {
            start_disable();
            return;
        }
        auto waiters = std::move(reset_waiters_);
        reset_waiters_.clear();
        for (auto& waiter : waiters) {
            waiter();
        }
        return;
    }
    if ((csts_value & csts::kFatal) != 0) {
        return;  // 3.1.6: only a reset (CC.EN = 0) clears a fatal status
    }
    if ((csts_value & csts::kReady) == 0) {
        start_enable();
        return;
    }
    const uint32_t shn = (cc_value >> cc::kShnShift) & cc::kShnMask;
    const uint32_t shst = (csts_value & csts::kShstMask) >> csts::kShstShift;
    if (shn != cc::kShnNone && shst == csts::kShstNormal) {
        start_shutdown(shn);
    }
}

void Controller::enter_fatal(const char* reason) {
    if (shutting_down_) {
        return;
    }
    if ((registers_.csts() & csts::kFatal) == 0) {
        LOG_RATELIMITED(nvme, err, "controller fatal status: {}", reason);
    }
    core_->fatal.store(true, std::memory_order_relaxed);
    registers_.set_csts(registers_.csts() | csts::kFatal);
}

void Controller::finish_transition() {
    transition_busy_ = false;
    evaluate();
}

void Controller::start_enable() {
    const uint32_t cc_value = registers_.cc();
    const uint32_t aqa_value = registers_.aqa();
    const uint32_t css = (cc_value >> cc::kCssShift) & cc::kCssMask;
    const uint32_t mps = (cc_value >> cc::kMpsShift) & cc::kMpsMask;
    const uint32_t ams = (cc_value >> cc::kAmsShift) & cc::kAmsMask;
    const uint32_t sq_entries = (aqa_value & aqa::kAsqsMask) + 1;
    const uint32_t cq_entries = ((aqa_value >> aqa::kAcqsShift) & aqa::kAcqsMask) + 1;
    // 3.1.5: the command set CAP.CSS offers, a page size in CAP.MPSMIN..MPSMAX (4 KiB only),
    // round robin arbitration (CAP.AMS offers nothing else); 3.1.8: admin queues of at least
    // two entries; 3.1.9/3.1.10: both queues in memory the controller can reach.
    const char* problem = nullptr;
    if (css != cc::kCssNvm) {
        problem = "CC.CSS selects a command set the controller does not support";
    } else if (mps != 0) {
        problem = "CC.MPS selects a page size other than 4 KiB";
    } else if (ams != 0) {
        problem = "CC.AMS selects an arbitration mechanism other than round robin";
    } else if (sq_entries < kMinQueueEntries || cq_entries < kMinQueueEntries) {
        problem = "AQA sets an admin queue of one entry";
    } else if (memory_->host_address(registers_.asq(), uint64_t{sq_entries} * kSqEntrySize) ==
                   nullptr ||
               memory_->host_address(registers_.acq(), uint64_t{cq_entries} * kCqEntrySize) ==
                   nullptr) {
        problem = "the admin queues are not in guest memory";
    }
    if (problem != nullptr) {
        enter_fatal(problem);
        return;
    }
    transition_busy_ = true;
    ++generation_;
    core_->fatal.store(false, std::memory_order_relaxed);
    core_->page_size.store(1u << (kMinPageShift + mps), std::memory_order_relaxed);
    core_->doorbells.store(sq_doorbell_index(0), 0);
    core_->doorbells.store(cq_doorbell_index(0), 0);
    const CqConfig cq{
        .qid = 0, .size = cq_entries, .gpa = registers_.acq(), .vector = 0, .interrupts = true};
    const SqConfig sq{.qid = 0, .size = sq_entries, .gpa = registers_.asq(), .cqid = 0};
    const uint64_t generation = generation_;
    reactor::Reactor& control = control_;
    post_to(0, [this, cq, sq, generation, &control](Shard& shard) {
        shard.create_admin(cq, sq, generation, [this, &control](bool ok) {
            control.post([this, ok] {
                if (ok) {
                    admin_live_ = true;
                    ++totals_[0].admin_qpairs;
                    registers_.set_csts(registers_.csts() | csts::kReady);
                    LOG_DEBUG(nvme, "controller enabled");
                } else {
                    enter_fatal("the admin queues are not in guest memory");
                }
                finish_transition();
            });
        });
    });
}

void Controller::start_disable() {
    transition_busy_ = true;
    // Answers for the old admin queue are dropped from now on.
    ++generation_;
    admin_live_ = false;
    events_.reset();
    shadow_.reset();
    features_.reset();
    core_->write_cache_enabled.store(features_.write_cache(), std::memory_order_relaxed);
    core_->coalescing.store(0, std::memory_order_relaxed);
    for (uint16_t vector = 0; vector < endpoint_->interrupts().msix_vectors(); ++vector) {
        core_->set_coalescing_disabled(vector, false);
    }
    for (QueueEntry& entry : sqs_) {
        entry = QueueEntry{};
    }
    for (QueueEntry& entry : cqs_) {
        entry = QueueEntry{};
    }
    for_each_shard([](Shard& shard, Shard::Done done) { shard.reset(std::move(done)); },
                   [this] {
                       core_->doorbells.clear();
                       core_->fatal.store(false, std::memory_order_relaxed);
                       registers_.set_csts(0);  // RDY, CFS and SHST clear once queues are gone
                       LOG_DEBUG(nvme, "controller reset");
                       finish_transition();
                   });
}

void Controller::start_shutdown(uint32_t shn) {
    transition_busy_ = true;
    registers_.set_csts((registers_.csts() & ~csts::kShstMask) |
                        (csts::kShstOccurring << csts::kShstShift));
    // 7.6.2: processing stops; queues that remain are deleted after their requests in flight,
    // the admin queue with them (a reset is needed before the controller runs again).
    ++generation_;
    admin_live_ = false;
    events_.reset();
    for (QueueEntry& entry : sqs_) {
        entry = QueueEntry{};
    }
    for (QueueEntry& entry : cqs_) {
        entry = QueueEntry{};
    }
    const bool normal = shn == cc::kShnNormal;
    for_each_shard(
        [normal](Shard& shard, Shard::Done done) {
            shard.reset([&shard, normal, done = std::move(done)]() mutable {
                if (normal) {
                    shard.flush_namespaces(std::move(done));  // volatile caches made stable
                } else {
                    done();
                }
            });
        },
        [this] {
            registers_.set_csts((registers_.csts() & ~csts::kShstMask) |
                                (csts::kShstComplete << csts::kShstShift));
            LOG_DEBUG(nvme, "controller shutdown complete");
            finish_transition();
        });
}

}  // namespace vhostd::nvme

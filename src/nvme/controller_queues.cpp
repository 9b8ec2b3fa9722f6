// Queue management admin commands (NVMe 1.4 5.3-5.6) and Doorbell Buffer Config (5.7). The
// control reactor checks every field and keeps the queue table; the queue is made or removed
// on its reactor, and the command completes when that is done (a deletion after the queue's
// requests in flight). I/O queue pair i lives on reactor i mod n; a submission queue lives
// where its completion queue does.
#include <cstring>

#include "nvme/controller.hpp"

namespace vhostd::nvme {

using namespace nvme_spec;

namespace {

struct QueueFields {
    uint16_t qid;
    uint32_t entries;  // QSIZE is 0's based
    bool contiguous;
};

QueueFields queue_fields(const Command& c) {
    return QueueFields{.qid = static_cast<uint16_t>(c.cdw10 & 0xffff),
                       .entries = (c.cdw10 >> 16) + 1,
                       .contiguous = (c.cdw11 & 1) != 0};
}

}  // namespace

void Controller::create_cq(const Command& c, AdminAnswer answer) {
    const QueueFields q = queue_fields(c);
    const bool interrupts = (c.cdw11 & 0x2) != 0;
    const uint16_t vector = static_cast<uint16_t>(c.cdw11 >> 16);
    const uint32_t page = core_->page_size.load(std::memory_order_relaxed);
    const uint32_t iocqes = (registers_.cc() >> cc::kIocqesShift) & cc::kQesMask;
    // 5.3.1 statuses, in the order the fields are checked: the identifier (0 is the admin
    // queue; above Number of Queues; in use), the size (at least 2, at most CAP.MQES + 1,
    // entries of the CC.IOCQES size this controller supports), the interrupt vector, and
    // PC = 0 refused because CAP.CQR requires contiguous queues.
    if (q.qid == 0 || q.qid > features_.cq_allocated() + 1u || q.qid >= cqs_.size() ||
        cqs_[q.qid].state != QueueEntry::State::none) {
        answer(status::kInvalidQueueId, 0);
        return;
    }
    if (q.entries < kMinQueueEntries || q.entries > uint32_t{core_->options.mqes} + 1 ||
        iocqes != kCqesLog2) {
        answer(status::kInvalidQueueSize, 0);
        return;
    }
    if (vector >= endpoint_->interrupts().msix_vectors()) {
        answer(status::kInvalidInterruptVector, 0);
        return;
    }
    // PRP1 is the queue's base: page aligned and all of it in guest memory.
    if (!q.contiguous || (c.dptr1 & (page - 1)) != 0 ||
        memory_->host_address(c.dptr1, uint64_t{q.entries} * kCqEntrySize) == nullptr) {
        answer(status::kInvalidField, 0);
        return;
    }
    QueueEntry& entry = cqs_[q.qid];
    entry = QueueEntry{.state = QueueEntry::State::creating,
                       .size = q.entries,
                       .gpa = c.dptr1,
                       .vector = vector,
                       .interrupts = interrupts,
                       .shard = shard_for(q.qid)};
    core_->doorbells.store(cq_doorbell_index(q.qid), 0);
    const CqConfig config{.qid = q.qid,
                          .size = q.entries,
                          .gpa = c.dptr1,
                          .vector = vector,
                          .interrupts = interrupts};
    const uint64_t generation = generation_;
    auto on_created = [this, generation, qid = q.qid, answer = std::move(answer)](bool ok) mutable {
        if (generation != generation_) {
            return;  // a reset deleted everything since
        }
        cqs_[qid].state = ok ? QueueEntry::State::live : QueueEntry::State::none;
        answer(ok ? kSuccess : status::kInvalidField, 0);
    };
    reactor::Reactor& control = control_;
    post_to(entry.shard, [config, &control,
                          on_created = std::move(on_created)](Shard& shard) mutable {
        shard.create_cq(config, [&control, on_created = std::move(on_created)](bool ok) mutable {
            control.post([ok, on_created = std::move(on_created)]() mutable { on_created(ok); });
        });
    });
}

void Controller::create_sq(const Command& c, AdminAnswer answer) {
    const QueueFields q = queue_fields(c);
    const uint16_t cqid = static_cast<uint16_t>(c.cdw11 >> 16);
    const uint32_t page = core_->page_size.load(std::memory_order_relaxed);
    const uint32_t iosqes = (registers_.cc() >> cc::kIosqesShift) & cc::kQesMask;
    // 5.4.1 statuses, as for completion queues, plus the completion queue it posts to: an
    // existing I/O completion queue (the admin completion queue is not one).
    if (q.qid == 0 || q.qid > features_.sq_allocated() + 1u || q.qid >= sqs_.size() ||
        sqs_[q.qid].state != QueueEntry::State::none) {
        answer(status::kInvalidQueueId, 0);
        return;
    }
    if (q.entries < kMinQueueEntries || q.entries > uint32_t{core_->options.mqes} + 1 ||
        iosqes != kSqesLog2) {
        answer(status::kInvalidQueueSize, 0);
        return;
    }
    if (cqid == 0 || cqid >= cqs_.size() || cqs_[cqid].state != QueueEntry::State::live) {
        answer(status::kCompletionQueueInvalid, 0);
        return;
    }
    if (!q.contiguous || (c.dptr1 & (page - 1)) != 0 ||
        memory_->host_address(c.dptr1, uint64_t{q.entries} * kSqEntrySize) == nullptr) {
        answer(status::kInvalidField, 0);
        return;
    }
    QueueEntry& entry = sqs_[q.qid];
    entry = QueueEntry{.state = QueueEntry::State::creating,
                       .size = q.entries,
                       .gpa = c.dptr1,
                       .cqid = cqid,
                       .shard = cqs_[cqid].shard};
    ++cqs_[cqid].sq_count;
    core_->doorbells.store(sq_doorbell_index(q.qid), 0);
    const SqConfig config{.qid = q.qid, .size = q.entries, .gpa = c.dptr1, .cqid = cqid};
    const uint64_t generation = generation_;
    auto on_created = [this, generation, qid = q.qid, cqid,
                       answer = std::move(answer)](bool ok) mutable {
        if (generation != generation_) {
            return;
        }
        if (ok) {
            sqs_[qid].state = QueueEntry::State::live;
            last_shard_[qid] = sqs_[qid].shard;
            ++totals_[sqs_[qid].shard].io_qpairs;
        } else {
            sqs_[qid] = QueueEntry{};
            --cqs_[cqid].sq_count;
        }
        answer(ok ? kSuccess : status::kInvalidField, 0);
    };
    reactor::Reactor& control = control_;
    post_to(entry.shard, [config, &control,
                          on_created = std::move(on_created)](Shard& shard) mutable {
        shard.create_sq(config, [&control, on_created = std::move(on_created)](bool ok) mutable {
            control.post([ok, on_created = std::move(on_created)]() mutable { on_created(ok); });
        });
    });
}

void Controller::delete_sq(const Command& c, AdminAnswer answer) {
    const uint16_t qid = static_cast<uint16_t>(c.cdw10 & 0xffff);
    // 5.6.1: the admin queue cannot be deleted; nor can a queue that does not exist.
    if (qid == 0 || qid >= sqs_.size() || sqs_[qid].state != QueueEntry::State::live) {
        answer(status::kInvalidQueueId, 0);
        return;
    }
    QueueEntry& entry = sqs_[qid];
    entry.state = QueueEntry::State::deleting;
    const uint64_t generation = generation_;
    reactor::Reactor& control = control_;
    auto on_deleted = [this, generation, qid, answer = std::move(answer)]() mutable {
        if (generation != generation_) {
            return;
        }
        const uint16_t cqid = sqs_[qid].cqid;
        sqs_[qid] = QueueEntry{};
        if (cqs_[cqid].sq_count > 0) {
            --cqs_[cqid].sq_count;
        }
        answer(kSuccess, 0);
    };
    // The queue's requests in flight complete (into its completion queue) before the
    // deletion does (5.6: the host sees every command of the queue completed first).
    post_to(entry.shard, [qid, &control, on_deleted = std::move(on_deleted)](Shard& shard) mutable {
        shard.delete_sq(qid, [&control, on_deleted = std::move(on_deleted)]() mutable {
            control.post(std::move(on_deleted));
        });
    });
}

void Controller::delete_cq(const Command& c, AdminAnswer answer) {
    const uint16_t qid = static_cast<uint16_t>(c.cdw10 & 0xffff);
    if (qid == 0 || qid >= cqs_.size() || cqs_[qid].state != QueueEntry::State::live) {
        answer(status::kInvalidQueueId, 0);
        return;
    }
    // 5.5.1: every submission queue posting to it must be deleted first.
    if (cqs_[qid].sq_count != 0) {
        answer(status::kInvalidQueueDeletion, 0);
        return;
    }
    QueueEntry& entry = cqs_[qid];
    entry.state = QueueEntry::State::deleting;
    const uint64_t generation = generation_;
    reactor::Reactor& control = control_;
    auto on_deleted = [this, generation, qid, answer = std::move(answer)]() mutable {
        if (generation != generation_) {
            return;
        }
        cqs_[qid] = QueueEntry{};
        answer(kSuccess, 0);
    };
    post_to(entry.shard, [qid, &control, on_deleted = std::move(on_deleted)](Shard& shard) mutable {
        shard.delete_cq(qid, [&control, on_deleted = std::move(on_deleted)]() mutable {
            control.post(std::move(on_deleted));
        });
    });
}

void Controller::doorbell_buffer_config(const Command& c, AdminAnswer answer) {
    const uint32_t page = core_->page_size.load(std::memory_order_relaxed);
    const uint64_t doorbells = c.dptr1;
    const uint64_t event_idx = c.dptr2;
    // 5.7: PRP1 is the shadow doorbell buffer and PRP2 the EventIdx buffer, each one memory
    // page, page aligned (with DSTRD 0 the 256 queue pairs' slots fit in one page). Two
    // distinct pages of guest memory.
    if (((doorbells | event_idx) & (page - 1)) != 0 || doorbells == event_idx ||
        memory_->host_address(doorbells, page) == nullptr ||
        memory_->host_address(event_idx, page) == nullptr) {
        answer(status::kInvalidField, 0);
        return;
    }
    shadow_ = ShadowConfig{.doorbells = doorbells, .event_idx = event_idx};
    const std::optional<ShadowConfig> shadow = shadow_;
    const uint64_t generation = generation_;
    for_each_shard(
        [shadow](Shard& shard, Shard::Done done) { shard.set_shadow(shadow, std::move(done)); },
        [this, generation, answer = std::move(answer)]() mutable {
            if (generation == generation_) {
                answer(kSuccess, 0);
            }
        });
}

}  // namespace vhostd::nvme

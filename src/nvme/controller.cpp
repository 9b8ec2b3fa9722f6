// Controller: construction, the pci::Function regions and interrupts, guest memory, reset,
// namespaces, statistics and shutdown.
#include "nvme/controller.hpp"

#include <algorithm>
#include <cstring>

#include "base/log.hpp"
#include "nvme/identify.hpp"

namespace vhostd::nvme {

using namespace nvme_spec;

namespace {

Result<void> check_options(const ControllerOptions& options, size_t reactors) {
    if (reactors == 0) {
        return make_error(EINVAL, "an NVMe controller needs at least one reactor");
    }
    // The doorbell page holds 256 queue pairs: the admin queue and 255 I/O queues.
    if (options.num_io_queues == 0 || options.num_io_queues > DoorbellPage::kSlots / 2 - 1) {
        return make_error(EINVAL, "{} I/O queues: 1 to {} are supported", options.num_io_queues,
                          DoorbellPage::kSlots / 2 - 1);
    }
    if (options.mqes == 0 || options.mqes > 4095) {
        return make_error(EINVAL, "MQES {} out of 1..4095", options.mqes);
    }
    if (options.max_namespaces == 0 || options.max_namespaces > kMaxNsidList) {
        return make_error(EINVAL, "{} namespaces: 1 to {} are supported", options.max_namespaces,
                          kMaxNsidList);
    }
    const auto printable = [](const std::string& s) {
        return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
    };
    if (options.serial_number.size() > 20 || !printable(options.serial_number)) {
        return make_error(EINVAL, "the serial number must be at most 20 printable characters");
    }
    if (options.model_number.size() > 40 || !printable(options.model_number)) {
        return make_error(EINVAL, "the model number must be at most 40 printable characters");
    }
    if (options.subsystem_nqn.empty() || options.subsystem_nqn.size() > kNqnMaxLength) {
        return make_error(EINVAL, "the subsystem NQN must have 1 to {} bytes", kNqnMaxLength);
    }
    return {};
}

}  // namespace

const char* to_string(DoorbellMode mode) {
    return mode == DoorbellMode::mapped ? "mapped" : "trapped";
}

Result<std::unique_ptr<Controller>> Controller::create(reactor::Reactor& control,
                                                       std::vector<reactor::Reactor*> reactors,
                                                       const ControllerOptions& options) {
    VHOSTD_TRY(check_options(options, reactors.size()));
    std::unique_ptr<Controller> controller(new Controller(control, std::move(reactors), options));
    VHOSTD_TRY(controller->init(options));
    return controller;
}

Controller::Controller(reactor::Reactor& control, std::vector<reactor::Reactor*> reactors,
                       const ControllerOptions& options)
    : control_(control),
      reactors_(std::move(reactors)),
      registers_(options),
      features_(static_cast<uint16_t>(options.num_io_queues + 1), options.num_io_queues),
      cqs_(size_t{options.num_io_queues} + 1),
      sqs_(size_t{options.num_io_queues} + 1),
      namespaces_(options.max_namespaces),
      last_shard_(size_t{options.num_io_queues} + 1) {
    for (const reactor::Reactor* r : reactors_) {
        totals_.push_back(PollGroupTotals{.reactor = r->id()});
    }
}

Result<void> Controller::init(const ControllerOptions& options) {
    pci::EndpointLayout layout;
    layout.identity = pci::Identity{.vendor_id = kVendorId,
                                    .device_id = kDeviceId,
                                    .subsystem_vendor_id = kVendorId,
                                    .subsystem_id = kDeviceId,
                                    .revision = 0,
                                    .class_code = pci_spec::kClassNvmExpress};
    layout.bars[0] = pci::BarSpec{.size = kBar0Size, .is_64bit = true};
    // One vector per queue pair: the admin queue's and one per I/O queue.
    layout.msix_vectors = static_cast<uint16_t>(options.num_io_queues + 1);
    layout.msix_table_bar = 4;
    layout.msix_pba_bar = 5;
    // A replaced interrupt eventfd stays open until every reactor that may be signalling it
    // has run a message posted after the replacement.
    auto retire = [reactors = reactors_](const std::shared_ptr<UniqueFd>& fd) {
        for (reactor::Reactor* r : reactors) {
            r->post([fd] {});
        }
    };
    endpoint_ = VHOSTD_TRY(pci::Endpoint::create(layout, std::move(retire)));
    DoorbellPage doorbells = VHOSTD_TRY(DoorbellPage::create());
    core_ =
        std::make_unique<ControllerCore>(options, control_, std::move(doorbells),
                                         endpoint_->interrupts(), static_cast<ControlLink&>(*this));
    for (reactor::Reactor* r : reactors_) {
        shards_.push_back(std::make_unique<Shard>(*core_, *r));
    }
    for (auto& shard : shards_) {
        Shard* s = shard.get();
        s->reactor().post([s] {
            if (auto started = s->start(); !started) {
                LOG_ERROR(nvme, "cannot start a controller reactor: {}",
                          started.error().describe());
            }
        });
    }
    return {};
}

Controller::~Controller() = default;

// --- pci::Function ---

pci::RegionInfo Controller::region_info(uint32_t index) const {
    if (index == pci::kBar0) {
        pci::RegionInfo info{.size = kBar0Size, .readable = true, .writable = true};
        if (core_->options.doorbell_mode == DoorbellMode::mapped) {
            // The doorbell page is the one mappable part; the registers stay trapped.
            info.fd = core_->doorbells.fd();
            info.fd_offset = 0;
            info.mmap_areas.push_back(
                pci::MmapArea{.offset = DoorbellPage::kFileOffset, .size = DoorbellPage::kSize});
        }
        return info;
    }
    if (endpoint_->serves(index)) {
        return endpoint_->region_info(index);
    }
    return pci::RegionInfo{};
}

Result<void> Controller::read(uint32_t index, uint64_t offset, std::span<uint8_t> out) {
    if (index == pci::kBar0) {
        std::fill(out.begin(), out.end(), 0);
        if (offset < reg::kRegistersEnd) {
            const size_t in_registers = std::min<uint64_t>(out.size(), reg::kRegistersEnd - offset);
            VHOSTD_TRY(registers_.read(offset, out.first(in_registers)));
        }
        // Doorbells are write-only (3.1.24); the rest of the BAR is reserved: zeroes.
        return {};
    }
    if (endpoint_->serves(index)) {
        return endpoint_->read(index, offset, out);
    }
    return make_error(EINVAL, "region {} is not implemented", index);
}

Result<void> Controller::write(uint32_t index, uint64_t offset, std::span<const uint8_t> data) {
    if (index == pci::kBar0) {
        if (offset < reg::kRegistersEnd) {
            const RegisterWrite what = VHOSTD_TRY(registers_.write(offset, data));
            if (what.intm) {
                // 3.1.3: INTMS bit 0 masks the pin-based interrupt (MSI-X ignores it).
                endpoint_->interrupts().set_intx_device_mask((registers_.intms() & 1) != 0);
            }
            if (what.cc) {
                cc_written();
            }
            return {};
        }
        if (offset < reg::kDoorbells + DoorbellPage::kSize) {
            if (data.size() != sizeof(uint32_t) || offset % sizeof(uint32_t) != 0) {
                return make_error(EINVAL, "doorbell write of {} bytes at {:#x}", data.size(),
                                  offset);
            }
            doorbell_write(offset, data);
        }
        return {};  // past the doorbells: reserved, ignored
    }
    if (endpoint_->serves(index)) {
        return endpoint_->write(index, offset, data);
    }
    return make_error(EINVAL, "region {} is not implemented", index);
}

pci::IrqInfo Controller::irq_info(uint32_t index) const {
    return endpoint_->interrupts().info(index);
}

Result<void> Controller::set_irqs(pci::IrqSet set) {
    return endpoint_->interrupts().set_irqs(std::move(set));
}

void Controller::set_memory(guest_memory::GuestMemory::Ptr memory,
                            std::move_only_function<void()> done) {
    memory_ = memory;
    for_each_shard(
        [memory](Shard& shard, Shard::Done shard_done) {
            shard.set_memory(memory, std::move(shard_done));
        },
        std::move(done));
}

void Controller::reset(std::move_only_function<void()> done) {
    ++power_cycles_;
    endpoint_->reset();
    // Registers to power-on values; CSTS follows once the queues are gone (evaluate()).
    const uint32_t csts = registers_.csts();
    registers_.reset();
    registers_.set_csts(csts);
    reset_waiters_.push_back(std::move(done));
    evaluate();
}

// --- cross-reactor plumbing ---

void Controller::post_to(unsigned shard, std::move_only_function<void(Shard&)> fn) {
    if (shard >= shards_.size()) {
        return;  // shut down
    }
    Shard* s = shards_[shard].get();
    s->reactor().post([s, fn = std::move(fn)]() mutable { fn(*s); });
}

void Controller::for_each_shard(const std::function<void(Shard&, Shard::Done)>& fn,
                                std::move_only_function<void()> done) {
    if (shards_.empty()) {
        done();  // shut down: nothing left to wait for
        return;
    }
    auto remaining = std::make_shared<size_t>(shards_.size());
    auto finish = std::make_shared<std::move_only_function<void()>>(std::move(done));
    reactor::Reactor& control = control_;
    for (auto& shard : shards_) {
        Shard* s = shard.get();
        s->reactor().post([s, fn, remaining, finish, &control] {
            fn(*s, [remaining, finish, &control] {
                control.post([remaining, finish] {
                    if (--*remaining == 0 && *finish) {
                        (*finish)();
                    }
                });
            });
        });
    }
}

void Controller::invalid_doorbell(uint16_t qid, bool completion_queue, uint32_t value) noexcept {
    control_.post([this, qid, completion_queue, value] {
        report_doorbell_error(qid, completion_queue, value, aen_error::kInvalidDoorbellValue);
    });
}

void Controller::fatal_error(const char* reason) noexcept {
    core_->fatal.store(true, std::memory_order_relaxed);  // queues stop taking at once
    control_.post([this, reason] { enter_fatal(reason); });
}

void Controller::admin_command(const Command& command, uint32_t slot,
                               uint64_t generation) noexcept {
    control_.post([this, command, slot, generation] { execute_admin(command, slot, generation); });
}

void Controller::async_event_request(uint16_t cid, uint64_t generation) noexcept {
    control_.post([this, cid, generation] {
        if (generation != generation_ || shutting_down_) {
            return;  // the admin queue it came from was deleted since
        }
        if (auto answer = events_.request(cid)) {
            answer_event(*answer);
        }
    });
}

// --- namespaces ---

Result<uint32_t> Controller::add_namespace(const NamespaceOptions& options) {
    if (shutting_down_) {
        return make_error(ESHUTDOWN, "the controller is shutting down");
    }
    uint32_t nsid = options.nsid;
    if (nsid == 0) {
        auto free = std::find_if(namespaces_.begin(), namespaces_.end(),
                                 [](const NamespaceEntry& e) { return !e.ns; });
        if (free == namespaces_.end()) {
            return make_error(ENOSPC, "all {} namespaces are in use", namespaces_.size());
        }
        nsid = static_cast<uint32_t>(free - namespaces_.begin()) + 1;
    }
    if (nsid > namespaces_.size()) {
        return make_error(EINVAL, "NSID {} exceeds the controller's {} namespaces", nsid,
                          namespaces_.size());
    }
    NamespaceEntry& entry = namespaces_[nsid - 1];
    if (entry.ns) {
        return make_error(EEXIST, "NSID {} is in use", nsid);
    }
    std::shared_ptr<const Namespace> ns =
        VHOSTD_TRY(Namespace::create(nsid, options.bdev, options.uuid));
    entry.ns = ns;
    entry.active = false;
    entry.removing = false;
    entry.subscription = block::BdevSubscription(
        options.bdev, [this, nsid](block::Bdev& bdev, block::BdevEvent event) {
            namespace_event(nsid, bdev, event);
        });
    for_each_shard(
        [ns](Shard& shard, Shard::Done done) { shard.attach_namespace(ns, std::move(done)); },
        [this, nsid, ns] {
            NamespaceEntry& e = namespaces_[nsid - 1];
            if (e.ns != ns || e.removing || shutting_down_) {
                return;  // removed while it was being attached
            }
            e.active = true;
            LOG_INFO(nvme, "namespace {} (bdev {}) is active", nsid, ns->bdev().name());
            namespace_changed(nsid);
        });
    return nsid;
}

void Controller::remove_namespace(uint32_t nsid, std::move_only_function<void(Result<void>)> done) {
    if (shutting_down_) {
        done(make_error(ESHUTDOWN, "the controller is shutting down"));
        return;
    }
    if (nsid == 0 || nsid > namespaces_.size() || !namespaces_[nsid - 1].ns ||
        namespaces_[nsid - 1].removing) {
        done(make_error(ENOENT, "no namespace {}", nsid));
        return;
    }
    NamespaceEntry& entry = namespaces_[nsid - 1];
    entry.removing = true;
    entry.active = false;  // Identify shows it inactive from now on
    for_each_shard(
        [nsid](Shard& shard, Shard::Done shard_done) {
            shard.detach_namespace(nsid, std::move(shard_done));
        },
        [this, nsid, done = std::move(done)]() mutable {
            NamespaceEntry& e = namespaces_[nsid - 1];
            e.subscription.reset();
            e.ns.reset();
            e.removing = false;
            if (!shutting_down_) {
                namespace_changed(nsid);
            }
            done({});
        });
}

void Controller::namespace_event(uint32_t nsid, block::Bdev& bdev, block::BdevEvent event) {
    switch (event) {
        case block::BdevEvent::resized:
            // Identify Namespace reads the bdev's size; the driver learns it through the
            // changed namespace list.
            LOG_INFO(nvme, "namespace {} (bdev {}) resized to {} blocks", nsid, bdev.name(),
                     bdev.num_blocks());
            if (namespaces_[nsid - 1].active) {
                namespace_changed(nsid);
            }
            return;
        case block::BdevEvent::removed:
            LOG_WARN(nvme, "namespace {}: bdev {} was removed", nsid, bdev.name());
            remove_namespace(nsid, [](Result<void>) {});
            return;
        case block::BdevEvent::failed:
        case block::BdevEvent::recovered:
            LOG_WARN(nvme, "namespace {}: bdev {} {}", nsid, bdev.name(), block::to_string(event));
            return;
    }
}

void Controller::namespace_changed(uint32_t nsid) {
    changed_.add(nsid);
    // 5.21.1.11: notices only when the host enabled them.
    if ((features_.async_event_config() & kAecNamespaceAttributeNotices) != 0) {
        raise_event(aen_type::kNotice, aen_notice::kNamespaceAttributeChanged,
                    log_id::kChangedNamespaces);
    }
}

const Namespace* Controller::active_namespace(uint32_t nsid) const {
    if (nsid == 0 || nsid > namespaces_.size()) {
        return nullptr;
    }
    const NamespaceEntry& entry = namespaces_[nsid - 1];
    return entry.active ? entry.ns.get() : nullptr;
}

std::vector<uint32_t> Controller::active_nsids() const {
    std::vector<uint32_t> nsids;
    for (size_t i = 0; i < namespaces_.size(); ++i) {
        if (namespaces_[i].active) {
            nsids.push_back(static_cast<uint32_t>(i + 1));
        }
    }
    return nsids;
}

std::vector<NamespaceInfo> Controller::namespaces() const {
    std::vector<NamespaceInfo> out;
    for (const NamespaceEntry& entry : namespaces_) {
        if (entry.ns) {
            out.push_back(NamespaceInfo{.nsid = entry.ns->nsid(),
                                        .bdev_name = entry.ns->bdev().name(),
                                        .uuid = entry.ns->uuid(),
                                        .active = entry.active});
        }
    }
    return out;
}

// --- statistics, state, shutdown ---

std::vector<queue::QueueCounters> Controller::queue_stats() const {
    std::vector<queue::QueueCounters> out;
    for (size_t qid = 0; qid < sqs_.size(); ++qid) {
        const bool exists = qid == 0 ? admin_live_ : sqs_[qid].state == QueueEntry::State::live;
        if (exists) {
            const unsigned shard = qid == 0 ? 0 : sqs_[qid].shard;
            const auto id = static_cast<uint16_t>(qid);  // sqs_ holds at most 2^16 queues
            out.push_back(
                queue::QueueCounters::of(core_->queue_stats(id), id, reactors_[shard]->id()));
        }
    }
    return out;
}

std::vector<PollGroupTotals> Controller::poll_group_totals() const {
    std::vector<PollGroupTotals> out = totals_;
    for (size_t qid = 1; qid < last_shard_.size(); ++qid) {
        const auto id = static_cast<uint16_t>(qid);  // at most 2^16 queues
        out[last_shard_[qid]].io_completions +=
            queue::QueueStats::get(core_->queue_stats(id).completions);
    }
    return out;
}

ControllerState Controller::state() const {
    ControllerState s;
    s.enabled = (registers_.cc() & cc::kEnable) != 0;
    s.ready = (registers_.csts() & csts::kReady) != 0;
    s.fatal = (registers_.csts() & csts::kFatal) != 0;
    s.shutdown_status = (registers_.csts() & csts::kShstMask) >> csts::kShstShift;
    s.shadow_doorbells_active = shadow_.has_value();
    for (size_t qid = 1; qid < sqs_.size(); ++qid) {
        s.io_submission_queues += sqs_[qid].state == QueueEntry::State::live ? 1 : 0;
        s.io_completion_queues += cqs_[qid].state == QueueEntry::State::live ? 1 : 0;
    }
    return s;
}

void Controller::shutdown(std::move_only_function<void()> done) {
    shutting_down_ = true;
    for (NamespaceEntry& entry : namespaces_) {
        entry.subscription.reset();
    }
    // From here on nothing posts to the shards: each one is handed to its own reactor, which
    // stops and destroys it there.
    std::vector<std::unique_ptr<Shard>> shards = std::move(shards_);
    shards_.clear();
    auto remaining = std::make_shared<size_t>(shards.size());
    auto finish = std::make_shared<std::move_only_function<void()>>(std::move(done));
    if (shards.empty()) {
        (*finish)();
        return;
    }
    reactor::Reactor& control = control_;
    for (auto& owned : shards) {
        Shard* s = owned.get();
        s->reactor().post([shard = std::move(owned), remaining, finish, &control]() mutable {
            Shard* raw = shard.get();
            raw->stop([shard = std::move(shard), remaining, finish, &control]() mutable {
                // Destroyed from a fresh message, not inside its own operation's callback.
                reactor::Reactor& reactor = shard->reactor();
                reactor.post([shard = std::move(shard), remaining, finish, &control]() mutable {
                    shard.reset();
                    control.post([remaining, finish] {
                        if (--*remaining == 0 && *finish) {
                            (*finish)();
                        }
                    });
                });
            });
        });
    }
}

// --- doorbells written through messages ---

void Controller::doorbell_write(uint64_t offset, std::span<const uint8_t> data) {
    uint32_t value;
    std::memcpy(&value, data.data(), sizeof(value));
    const uint32_t index = static_cast<uint32_t>((offset - reg::kDoorbells) / kDoorbellSize);
    const uint16_t qid = static_cast<uint16_t>(index / 2);
    const bool completion_queue = (index & 1) != 0;
    uint32_t size = 0;
    unsigned shard = 0;
    if (qid == 0 && admin_live_) {
        size = completion_queue ? ((registers_.aqa() >> aqa::kAcqsShift) & aqa::kAcqsMask) + 1
                                : (registers_.aqa() & aqa::kAsqsMask) + 1;
    } else if (qid != 0 && qid < sqs_.size()) {
        const QueueEntry& entry = completion_queue ? cqs_[qid] : sqs_[qid];
        if (entry.state == QueueEntry::State::live) {
            size = entry.size;
            shard = entry.shard;
        }
    }
    // 5.2.1 error status: a doorbell of a queue that does not exist, or a value that cannot
    // index the queue; the write is ignored. (In mapped mode such stores land in the shared
    // page unseen: a queue's reactor checks the values of its own doorbells when it reads
    // them, and a queue's slot is zeroed when the queue is created.)
    if (size == 0) {
        report_doorbell_error(qid, completion_queue, value, aen_error::kInvalidDoorbellRegister);
        return;
    }
    if (value >= size) {
        report_doorbell_error(qid, completion_queue, value, aen_error::kInvalidDoorbellValue);
        return;
    }
    core_->doorbells.store(index, value);
    if (shard < shards_.size()) {
        shards_[shard]->kick();
    }
}

void Controller::report_doorbell_error(uint16_t qid, bool completion_queue, uint32_t value,
                                       uint8_t info) {
    if (shutting_down_) {
        return;
    }
    LOG_RATELIMITED(nvme, warn, "{} doorbell of queue {}: invalid {} {}",
                    completion_queue ? "completion" : "submission", qid,
                    info == aen_error::kInvalidDoorbellRegister ? "register, value" : "value",
                    value);
    error_log_.add(0xffff, 0xffff, status::kInvalidField, 0, (uint64_t{qid} << 32) | value);
    raise_event(aen_type::kErrorStatus, info, log_id::kErrorInformation);
}

}  // namespace vhostd::nvme

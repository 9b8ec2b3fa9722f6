// NvmeDriver: controller bring-up, admin commands and events over vfio-user.
#include "frontend/nvme_driver.hpp"

#include <algorithm>
#include <cstring>
#include <thread>

#include "base/event_fd.hpp"
#include "frontend/nvme_commands.hpp"
#include "spec/pci.hpp"

namespace vhostd::frontend {

using namespace nvme_spec;
using Clock = std::chrono::steady_clock;

namespace {

constexpr uint64_t kRamGpa = 0x100000;
constexpr uint32_t kMaxIoQueues = 255;  // DSTRD 0: the 4 KiB doorbell page holds 256 pairs
constexpr int kMaxCapabilities = 48;    // (256 - 64) / 4: a longer chain loops
constexpr auto kRegisterPoll = std::chrono::milliseconds(1);

uint64_t round_up(uint64_t v, uint64_t align) {
    return (v + align - 1) / align * align;
}

// Guest RAM the queues need: SQ, CQ and one page per CID of each queue, plus the admin pages.
uint64_t queue_bytes(uint32_t entries, uint32_t page) {
    return round_up(uint64_t{entries} * kSqEntrySize, page) +
           round_up(uint64_t{entries} * kCqEntrySize, page) + uint64_t{entries} * page;
}

}  // namespace

Result<std::unique_ptr<NvmeDriver>> NvmeDriver::connect(const Options& options) {
    if (options.io_queues == 0 || options.io_queues > kMaxIoQueues ||
        options.admin_entries < kMinQueueEntries || options.admin_entries > kMaxAdminEntries ||
        options.io_queue_entries < kMinQueueEntries || options.io_queue_entries > 65536) {
        return make_error(EINVAL, "{} I/O queues of {} entries, admin queue of {} entries",
                          options.io_queues, options.io_queue_entries, options.admin_entries);
    }
    VfioUserClient client = VHOSTD_TRY(VfioUserClient::connect(options.socket, options.client));
    GuestRam::Options ram_options = options.ram;
    const uint64_t bytes =
        queue_bytes(options.admin_entries, kPageSize) +
        uint64_t{options.io_queues} * queue_bytes(options.io_queue_entries, kPageSize) +
        4 * kPageSize + options.data_bytes;
    ram_options.regions = {{.gpa = kRamGpa, .size = round_up(bytes, uint64_t{2} << 20)}};
    GuestRam ram = VHOSTD_TRY(GuestRam::create(ram_options));
    VHOSTD_TRY(client.dma_map(ram));
    std::unique_ptr<NvmeDriver> d(new NvmeDriver(options, std::move(client), std::move(ram)));

    // BAR0: registers, and the doorbell page as a sparse mmap area in mapped mode.
    const VfioUserRegion bar0 = VHOSTD_TRY(d->client_.region_info(vfio_user::pci_region::kBar0));
    if (!bar0.readable() || !bar0.writable() || bar0.size < reg::kDoorbells + 4096) {
        return make_error(EPROTO, "BAR0 of {} bytes, flags {:#x}: not an NVMe register BAR",
                          bar0.size, bar0.flags);
    }
    uint32_t* page = nullptr;
    if (bar0.mappable() && !options.force_trapped) {
        d->bar0_ = VHOSTD_TRY(VfioUserMapping::map(bar0));
        page = reinterpret_cast<uint32_t*>(d->bar0_.at(reg::kDoorbells, 4096));
    }
    d->doorbells_ = std::make_unique<NvmeDoorbells>(&d->client_, page);

    d->data_page_ = VHOSTD_TRY(d->ram_.alloc(kPageSize, kPageSize));
    d->shadow_page_ = VHOSTD_TRY(d->ram_.alloc(kPageSize, kPageSize));
    d->event_page_ = VHOSTD_TRY(d->ram_.alloc(kPageSize, kPageSize));
    d->admin_ = std::make_unique<NvmeQueuePair>(VHOSTD_TRY(
        NvmeQueuePair::create(d->ram_, 0, options.admin_entries, *d->doorbells_, kPageSize)));

    d->cap_ = VHOSTD_TRY(d->read64(reg::kCap));
    d->version_ = VHOSTD_TRY(d->read32(reg::kVs));
    // 3.1.1: DSTRD 0 (4-byte doorbell stride), the NVM command set, 4 KiB pages allowed.
    if (((d->cap_ >> cap::kDstrdShift) & 0xf) != 0 || (d->cap_ & cap::kCssNvm) == 0 ||
        ((d->cap_ >> cap::kMpsminShift) & 0xf) != 0) {
        return make_error(ENOTSUP, "CAP {:#x}: needs DSTRD 0, the NVM command set, 4 KiB pages",
                          d->cap_);
    }
    const uint64_t to_ms = ((d->cap_ >> cap::kToShift) & 0xff) * 500;  // CAP.TO: 500 ms units
    d->timeout_ms_ = static_cast<uint32_t>(
        std::clamp<uint64_t>(to_ms, 1000, static_cast<uint64_t>(options.timeout.count())));
    const uint32_t mqes = static_cast<uint32_t>(d->cap_ & cap::kMqesMask) + 1;
    d->options_.io_queue_entries = std::min(d->options_.io_queue_entries, mqes);
    d->options_.admin_entries = std::min(d->options_.admin_entries, mqes);
    for (uint16_t qid = 1; qid <= options.io_queues; ++qid) {
        d->io_.push_back(std::make_unique<NvmeQueuePair>(VHOSTD_TRY(NvmeQueuePair::create(
            d->ram_, qid, d->options_.io_queue_entries, *d->doorbells_, kPageSize))));
    }
    if (options.interrupts) {
        VHOSTD_TRY(d->setup_interrupts());
    }
    VHOSTD_TRY(d->bring_up());
    return d;
}

Result<uint32_t> NvmeDriver::read32(uint64_t offset) {
    const std::lock_guard lock(doorbells_->client_mutex());
    return client_.read32(vfio_user::pci_region::kBar0, offset);
}

Result<uint64_t> NvmeDriver::read64(uint64_t offset) {
    const std::lock_guard lock(doorbells_->client_mutex());
    return client_.read64(vfio_user::pci_region::kBar0, offset);
}

Result<void> NvmeDriver::write32(uint64_t offset, uint32_t value) {
    const std::lock_guard lock(doorbells_->client_mutex());
    return client_.write32(vfio_user::pci_region::kBar0, offset, value);
}

Result<void> NvmeDriver::write64(uint64_t offset, uint64_t value) {
    const std::lock_guard lock(doorbells_->client_mutex());
    return client_.write64(vfio_user::pci_region::kBar0, offset, value);
}

Result<void> NvmeDriver::wait_csts(uint32_t mask, uint32_t want, const char* what) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
    for (;;) {
        const uint32_t csts = VHOSTD_TRY(read32(reg::kCsts));
        if ((csts & mask) == want) {
            return {};
        }
        // 3.1.6: CFS, a fatal controller status; all ones: the register read failed.
        if ((csts & csts::kFatal) != 0) {
            return make_error(EIO, "CSTS {:#x} (fatal status) while waiting for {}", csts, what);
        }
        if (Clock::now() >= deadline) {
            return make_error(ETIMEDOUT, "CSTS {:#x}: no {} within {} ms", csts, what, timeout_ms_);
        }
        std::this_thread::sleep_for(kRegisterPoll);
    }
}

Result<void> NvmeDriver::disable() {
    const uint32_t cc = VHOSTD_TRY(read32(reg::kCc));
    if ((cc & cc::kEnable) != 0) {
        VHOSTD_TRY(write32(reg::kCc, cc & ~cc::kEnable));
    }
    // 3.5.2: after clearing CC.EN the host waits for CSTS.RDY to clear.
    return wait_csts(csts::kReady, 0, "CSTS.RDY = 0");
}

Result<void> NvmeDriver::bring_up() {
    VHOSTD_TRY(disable());
    admin_->reset();
    for (auto& q : io_) {
        q->reset();
    }
    doorbells_->set_shadow(nullptr, nullptr);
    aers_outstanding_ = 0;
    events_.clear();
    // 3.5.1: admin queue attributes and bases, then CC (NVM command set, 4 KiB pages, 64-byte
    // SQEs and 16-byte CQEs), then CC.EN and wait for CSTS.RDY.
    const uint32_t admin = admin_->entries() - 1;
    VHOSTD_TRY(write32(reg::kAqa, admin | (admin << aqa::kAcqsShift)));
    VHOSTD_TRY(write64(reg::kAsq, admin_->sq_gpa()));
    VHOSTD_TRY(write64(reg::kAcq, admin_->cq_gpa()));
    VHOSTD_TRY(
        write32(reg::kCc, (kSqesLog2 << cc::kIosqesShift) | (kCqesLog2 << cc::kIocqesShift)));
    VHOSTD_TRY(write32(
        reg::kCc, cc::kEnable | (kSqesLog2 << cc::kIosqesShift) | (kCqesLog2 << cc::kIocqesShift)));
    VHOSTD_TRY(wait_csts(csts::kReady, csts::kReady, "CSTS.RDY = 1"));

    VHOSTD_TRY(identify(cns::kController, 0));
    std::memcpy(&identify_, data_page_.host, sizeof(identify_));
    // 5.21.1.7: Number of Queues, 0's based, SQs in bits 15:0 and CQs in 31:16.
    const uint32_t wanted = uint32_t{static_cast<uint16_t>(io_.size() - 1)};
    Command nq{};
    nq.opcode = admin_opcode::kSetFeatures;
    nq.cdw10 = feature::kNumberOfQueues;
    nq.cdw11 = wanted | (wanted << 16);
    const NvmeCompletion granted = VHOSTD_TRY(admin_ok(nq));
    const uint32_t sqs = (granted.dw0 & 0xffff) + 1;
    const uint32_t cqs = (granted.dw0 >> 16) + 1;
    if (sqs < io_.size() || cqs < io_.size()) {
        return make_error(ENOSPC, "the controller grants {} SQs and {} CQs, {} wanted", sqs, cqs,
                          io_.size());
    }
    if ((identify_.oaes & oaes::kNamespaceAttributeNotices) != 0) {
        Command aec{};
        aec.opcode = admin_opcode::kSetFeatures;
        aec.cdw10 = feature::kAsyncEventConfig;
        aec.cdw11 = kAecNamespaceAttributeNotices;
        VHOSTD_TRY(admin_ok(aec));
    }
    // 5.7: shadow doorbells only help when doorbells are messages.
    if (!doorbells_->mapped() && options_.shadow_doorbells &&
        (identify_.oacs & oacs::kDoorbellBufferConfig) != 0) {
        std::memset(shadow_page_.host, 0, shadow_page_.size);
        std::memset(event_page_.host, 0, event_page_.size);
        Command dbbuf{};
        dbbuf.opcode = admin_opcode::kDoorbellBufferConfig;
        dbbuf.dptr1 = shadow_page_.gpa;
        dbbuf.dptr2 = event_page_.gpa;
        VHOSTD_TRY(admin_ok(dbbuf));
        doorbells_->set_shadow(reinterpret_cast<uint32_t*>(shadow_page_.host),
                               reinterpret_cast<uint32_t*>(event_page_.host));
    }
    VHOSTD_TRY(create_io_queues());
    if (aers_wanted_ != 0) {
        const unsigned wanted_aers = aers_wanted_;
        aers_wanted_ = 0;
        VHOSTD_TRY(arm_async_events(wanted_aers));
    }
    return {};
}

Result<void> NvmeDriver::create_io_queues() {
    for (auto& q : io_) {
        const uint32_t size = (q->entries() - 1) << 16;  // QSIZE, 0's based
        Command cq{};
        cq.opcode = admin_opcode::kCreateIoCq;
        cq.dptr1 = q->cq_gpa();
        cq.cdw10 = q->qid() | size;
        // 5.3: PC (physically contiguous), IEN with the vector = qid when interrupts are on.
        cq.cdw11 = 1u | (options_.interrupts ? (2u | (uint32_t{q->qid()} << 16)) : 0u);
        VHOSTD_TRY(admin_ok(cq));
        Command sq{};
        sq.opcode = admin_opcode::kCreateIoSq;
        sq.dptr1 = q->sq_gpa();
        sq.cdw10 = q->qid() | size;
        sq.cdw11 = 1u | (uint32_t{q->qid()} << 16);  // PC, CQID
        VHOSTD_TRY(admin_ok(sq));
    }
    return {};
}

Result<void> NvmeDriver::setup_interrupts() {
    // Vector 0 for the admin queue, vector qid for each I/O queue.
    const auto vectors = static_cast<uint32_t>(io_.size() + 1);
    std::vector<UniqueFd> fds;
    std::vector<int> raw;
    for (uint32_t v = 0; v < vectors; ++v) {
        fds.push_back(VHOSTD_TRY(make_event_fd()));
        raw.push_back(fds.back().get());
    }
    const std::lock_guard lock(doorbells_->client_mutex());
    VHOSTD_TRY(client_.set_irq_eventfds(vfio_user::pci_irq::kMsix, 0, raw));
    // PCI config: memory space and bus master on; the MSI-X capability enabled and the vectors
    // unmasked in its table (PCI 3.0 6.8.2), as a driver does before it relies on them.
    std::array<uint8_t, 256> config{};
    VHOSTD_TRY(client_.region_read(vfio_user::pci_region::kConfig, 0,
                                   std::as_writable_bytes(std::span(config))));
    uint8_t at = config[pci_spec::reg::kCapabilities];
    uint8_t msix = 0;
    for (int i = 0; at != 0 && i < kMaxCapabilities; ++i) {
        if (at < pci_spec::reg::kHeaderEnd || at > config.size() - pci_spec::msix::kSize) {
            return make_error(EPROTO, "capability pointer {:#x} out of config space", at);
        }
        if (config[at] == pci_spec::cap_id::kMsix) {
            msix = at;
            break;
        }
        at = config[at + pci_spec::kCapNext];
    }
    if (msix == 0) {
        return make_error(ENOTSUP, "the function has no MSI-X capability");
    }
    uint16_t control = 0;
    uint32_t table = 0;
    std::memcpy(&control, &config[msix + pci_spec::msix::kControl], 2);
    std::memcpy(&table, &config[msix + pci_spec::msix::kTable], 4);
    if ((control & pci_spec::msix::kTableSizeMask) + 1u < vectors) {
        return make_error(ENOSPC, "MSI-X has {} vectors, {} needed",
                          (control & pci_spec::msix::kTableSizeMask) + 1, vectors);
    }
    const uint32_t bir = table & pci_spec::msix::kBirMask;
    const uint64_t table_offset = table & ~pci_spec::msix::kBirMask;
    for (uint32_t v = 0; v < vectors; ++v) {
        VHOSTD_TRY(client_.write32(bir, table_offset + v * pci_spec::msix::kEntrySize + 12, 0));
    }
    uint16_t command = 0;
    std::memcpy(&command, &config[pci_spec::reg::kCommand], 2);
    command |= pci_spec::command::kMemorySpace | pci_spec::command::kBusMaster;
    VHOSTD_TRY(client_.region_write(vfio_user::pci_region::kConfig, pci_spec::reg::kCommand,
                                    std::as_bytes(std::span(&command, 1))));
    control =
        static_cast<uint16_t>((control | pci_spec::msix::kEnable) & ~pci_spec::msix::kFunctionMask);
    VHOSTD_TRY(client_.region_write(vfio_user::pci_region::kConfig, msix + pci_spec::msix::kControl,
                                    std::as_bytes(std::span(&control, 1))));
    irq_fds_.clear();
    for (size_t i = 1; i < fds.size(); ++i) {
        irq_fds_.push_back(std::move(fds[i]));
    }
    return {};
}

Result<NvmeCompletion> NvmeDriver::poll_admin_until(uint64_t tag, Clock::time_point deadline) {
    std::array<NvmeCompletion, 8> batch;
    std::optional<NvmeCompletion> found;
    for (;;) {
        const size_t n = VHOSTD_TRY(admin_->poll(batch));
        for (size_t i = 0; i < n; ++i) {
            const NvmeCompletion& c = batch[i];
            if ((c.tag & kAerTag) != 0) {
                --aers_outstanding_;
                if (c.ok()) {
                    events_.push_back(c.dw0);
                }
                continue;
            }
            if (c.tag != tag) {
                return make_error(EPROTO, "admin completion for command {} while waiting for {}",
                                  c.tag, tag);
            }
            found = c;
        }
        // Keep the wanted number of AERs outstanding (Linux re-submits one per event).
        while (aers_outstanding_ < aers_wanted_ && admin_->free_slots() > 1) {
            Command aer{};
            aer.opcode = admin_opcode::kAsyncEventRequest;
            if (!admin_->submit(kAerTag | next_tag_++, aer)) {
                break;
            }
            ++aers_outstanding_;
            admin_->kick();
        }
        if (found) {
            return *found;
        }
        if (tag == 0 && !events_.empty()) {
            return NvmeCompletion{};
        }
        if (admin_->broken()) {
            return make_error(EPIPE, "the admin queue is broken");
        }
        if (Clock::now() >= deadline) {
            return make_error(ETIMEDOUT, "no admin completion within the deadline");
        }
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
}

Result<NvmeCompletion> NvmeDriver::admin(const Command& command) {
    const uint64_t tag = next_tag_++ & ~kAerTag;
    if (!admin_->submit(tag, command)) {
        return make_error(EBUSY, "admin queue full or broken");
    }
    admin_->kick();
    return poll_admin_until(tag, Clock::now() + options_.timeout);
}

Result<NvmeCompletion> NvmeDriver::admin_ok(const Command& command) {
    const NvmeCompletion c = VHOSTD_TRY(admin(command));
    if (!c.ok()) {
        return make_error(EIO, "admin opcode {:#x} failed with status {:#x}", command.opcode,
                          c.status);
    }
    return c;
}

Result<void> NvmeDriver::identify(uint8_t cns_value, uint32_t nsid) {
    std::memset(data_page_.host, 0, data_page_.size);
    VHOSTD_TRY(admin_ok(identify_command(cns_value, nsid, data_page_.gpa)));
    return {};
}

Result<IdentifyNamespace> NvmeDriver::identify_namespace(uint32_t nsid) {
    VHOSTD_TRY(identify(cns::kNamespace, nsid));
    IdentifyNamespace out;
    std::memcpy(&out, data_page_.host, sizeof(out));
    return out;
}

Result<NvmeDriver::NamespaceGeometry> NvmeDriver::namespace_geometry(uint32_t nsid) {
    const IdentifyNamespace ns = VHOSTD_TRY(identify_namespace(nsid));
    const uint8_t format = ns.flbas & 0xf;
    // 5.15.2.2: LBADS is a power of two, at least 9 (512 bytes); an inactive NSID is all zero.
    if (format > ns.nlbaf || ns.lbaf[format].lbads < 9 || ns.lbaf[format].lbads > 16 ||
        ns.nsze == 0) {
        return make_error(ENODEV, "namespace {} is inactive or has an unusable LBA format", nsid);
    }
    return NamespaceGeometry{.block_size = uint32_t{1} << ns.lbaf[format].lbads, .blocks = ns.nsze};
}

Result<std::vector<uint32_t>> NvmeDriver::active_namespaces() {
    VHOSTD_TRY(identify(cns::kActiveNamespaces, 0));
    return nsid_list(data_page_.host);
}

Result<std::vector<uint32_t>> NvmeDriver::changed_namespaces() {
    std::memset(data_page_.host, 0, data_page_.size);
    VHOSTD_TRY(admin_ok(changed_namespaces_command(data_page_.gpa)));
    return nsid_list(data_page_.host);
}

Result<void> NvmeDriver::arm_async_events(unsigned count) {
    // 5.15.2.1: AERL is 0's based.
    const unsigned limit = unsigned{identify_.aerl} + 1;
    aers_wanted_ = std::min(count, limit);
    // One pass: submits the AERs and collects whatever already completed.
    auto polled = poll_admin_until(0, Clock::now());
    if (!polled && polled.error().code != ETIMEDOUT) {
        return std::unexpected(polled.error());
    }
    return {};
}

Result<uint32_t> NvmeDriver::wait_async_event(std::chrono::milliseconds timeout) {
    if (events_.empty()) {
        VHOSTD_TRY(poll_admin_until(0, Clock::now() + timeout));
    }
    if (events_.empty()) {
        return make_error(ETIMEDOUT, "no asynchronous event within {} ms", timeout.count());
    }
    const uint32_t dw0 = events_.front();
    events_.pop_front();
    return dw0;
}

Result<void> NvmeDriver::shutdown() {
    // Linux deletes the I/O SQs, then the CQs, then shuts down (nvme_disable_io_queues).
    for (auto& q : io_) {
        Command c{};
        c.opcode = admin_opcode::kDeleteIoSq;
        c.cdw10 = q->qid();
        VHOSTD_TRY(admin_ok(c));
    }
    for (auto& q : io_) {
        Command c{};
        c.opcode = admin_opcode::kDeleteIoCq;
        c.cdw10 = q->qid();
        VHOSTD_TRY(admin_ok(c));
    }
    const uint32_t cc = VHOSTD_TRY(read32(reg::kCc));
    VHOSTD_TRY(write32(
        reg::kCc, (cc & ~(cc::kShnMask << cc::kShnShift)) | (cc::kShnNormal << cc::kShnShift)));
    return wait_csts(csts::kShstMask, csts::kShstComplete << csts::kShstShift,
                     "CSTS.SHST = shutdown complete");
}

Result<void> NvmeDriver::reset() {
    return bring_up();
}

NvmeDriver::DoorbellCounts NvmeDriver::doorbell_counts() const {
    DoorbellCounts out;
    const bool messages = !doorbells_->mapped();
    auto add = [&](const NvmeQueuePair& q) {
        if (messages) {
            out.sq_messages += q.stats().sq_doorbells;
            out.cq_messages += q.stats().cq_doorbells;
        }
        out.sq_skipped += q.stats().sq_doorbells_skipped;
        out.cq_skipped += q.stats().cq_doorbells_skipped;
    };
    add(*admin_);
    for (const auto& q : io_) {
        add(*q);
    }
    return out;
}

}  // namespace vhostd::frontend

// NvmeVfioClient: admin queue by hand over vfio-user.
#include "nvme_vfio_client.hpp"

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "frontend/nvme_commands.hpp"

namespace vhostd::testing {

using namespace nvme_spec;

namespace {

constexpr uint64_t kRamGpa = 0x100000;
constexpr uint64_t kRamSize = 2 << 20;
constexpr uint32_t kConfigRegion = 7;  // VFIO_PCI_CONFIG_REGION_INDEX
constexpr auto kDeadline = std::chrono::seconds(10);
constexpr int kMaxCapabilities = 48;  // (256 - 64) / 4: a longer chain loops

}  // namespace

Result<std::unique_ptr<NvmeVfioClient>> NvmeVfioClient::connect(const std::string& socket) {
    frontend::VfioUserClient client = VHOSTD_TRY(frontend::VfioUserClient::connect(socket));
    frontend::GuestRam ram = VHOSTD_TRY(frontend::GuestRam::create(kRamSize, kRamGpa));
    VHOSTD_TRY(client.dma_map(ram));
    std::unique_ptr<NvmeVfioClient> out(new NvmeVfioClient(std::move(client), std::move(ram)));
    frontend::VfioUserRegion bar0 = VHOSTD_TRY(out->client_.region_info(0));
    if (bar0.mappable()) {
        out->bar0_ = VHOSTD_TRY(frontend::VfioUserMapping::map(bar0));
        out->doorbells_ = reinterpret_cast<uint32_t*>(out->bar0_.at(reg::kDoorbells, 4096));
    }
    return out;
}

Result<std::vector<uint8_t>> NvmeVfioClient::config_space(size_t bytes) {
    std::vector<uint8_t> out(bytes);
    VHOSTD_TRY(client_.region_read(kConfigRegion, 0,
                                   {reinterpret_cast<std::byte*>(out.data()), out.size()}));
    return out;
}

Result<std::vector<std::pair<uint8_t, uint8_t>>> NvmeVfioClient::capabilities() {
    const std::vector<uint8_t> config = VHOSTD_TRY(config_space());
    std::vector<std::pair<uint8_t, uint8_t>> out;
    uint8_t at = config[pci_spec::reg::kCapabilities];
    for (int i = 0; at != 0 && i < kMaxCapabilities; ++i) {
        if (at < pci_spec::reg::kHeaderEnd || at > config.size() - 2) {
            return make_error(EPROTO, "capability pointer {:#x} out of config space", at);
        }
        out.emplace_back(config[at], at);
        at = config[at + pci_spec::kCapNext];
    }
    return out;
}

Result<void> NvmeVfioClient::ring(uint32_t doorbell_index, uint32_t value) {
    if (doorbells_ != nullptr) {
        std::atomic_ref<uint32_t>(doorbells_[doorbell_index])
            .store(value, std::memory_order_release);
        return {};
    }
    return client_.write32(0, reg::kDoorbells + uint64_t{doorbell_index} * kDoorbellSize, value);
}

Result<frontend::GuestBuffer> NvmeVfioClient::page() {
    frontend::GuestBuffer buffer = VHOSTD_TRY(ram_.alloc(4096, 4096));
    std::memset(buffer.host, 0, buffer.size);
    return buffer;
}

Result<void> NvmeVfioClient::enable(uint32_t admin_entries) {
    entries_ = admin_entries;
    sq_ = VHOSTD_TRY(ram_.alloc(uint64_t{admin_entries} * kSqEntrySize, 4096));
    cq_ = VHOSTD_TRY(ram_.alloc(uint64_t{admin_entries} * kCqEntrySize, 4096));
    std::memset(sq_.host, 0, sq_.size);
    std::memset(cq_.host, 0, cq_.size);
    sq_tail_ = 0;
    cq_head_ = 0;
    phase_ = true;
    backlog_.clear();
    VHOSTD_TRY(client_.write32(0, reg::kAqa,
                               (admin_entries - 1) | ((admin_entries - 1) << aqa::kAcqsShift)));
    VHOSTD_TRY(client_.write64(0, reg::kAsq, sq_.gpa));
    VHOSTD_TRY(client_.write64(0, reg::kAcq, cq_.gpa));
    VHOSTD_TRY(client_.write32(
        0, reg::kCc,
        cc::kEnable | (kSqesLog2 << cc::kIosqesShift) | (kCqesLog2 << cc::kIocqesShift)));
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (std::chrono::steady_clock::now() < deadline) {
        const uint32_t csts = VHOSTD_TRY(client_.read32(0, reg::kCsts));
        if ((csts & csts::kFatal) != 0) {
            return make_error(EIO, "CSTS.CFS set while enabling");
        }
        if ((csts & csts::kReady) != 0) {
            return {};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return make_error(ETIMEDOUT, "CSTS.RDY not set within {} s", kDeadline.count());
}

Result<uint16_t> NvmeVfioClient::submit(Command command) {
    if (entries_ == 0) {
        return make_error(EINVAL, "the admin queue is not set up");
    }
    command.cid = next_cid_++;
    if (next_cid_ == 0) {
        next_cid_ = 1;
    }
    std::memcpy(sq_.host + uint64_t{sq_tail_} * kSqEntrySize, &command, sizeof(command));
    sq_tail_ = (sq_tail_ + 1) % entries_;
    std::atomic_thread_fence(std::memory_order_release);
    VHOSTD_TRY(ring(0, sq_tail_));  // admin SQ tail: doorbell 0
    return command.cid;
}

Result<Completion> NvmeVfioClient::wait(uint16_t cid) {
    for (auto it = backlog_.begin(); it != backlog_.end(); ++it) {
        if (it->cid == cid) {
            Completion found = *it;
            backlog_.erase(it);
            return found;
        }
    }
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (std::chrono::steady_clock::now() < deadline) {
        auto* entry = reinterpret_cast<Completion*>(cq_.host + uint64_t{cq_head_} * kCqEntrySize);
        const uint16_t status =
            std::atomic_ref<uint16_t>(entry->status).load(std::memory_order_acquire);
        if (((status & 1) != 0) != phase_) {
            std::this_thread::sleep_for(std::chrono::microseconds(200));
            continue;
        }
        Completion completion;
        std::memcpy(&completion, entry, sizeof(completion));
        cq_head_ = (cq_head_ + 1) % entries_;
        if (cq_head_ == 0) {
            phase_ = !phase_;
        }
        VHOSTD_TRY(ring(1, cq_head_));  // admin CQ head: doorbell 1
        if (completion.cid == cid) {
            return completion;
        }
        backlog_.push_back(completion);
    }
    return make_error(ETIMEDOUT, "no completion for command {} within {} s", cid,
                      kDeadline.count());
}

Result<Completion> NvmeVfioClient::run(Command command) {
    const uint16_t cid = VHOSTD_TRY(submit(command));
    const Completion completion = VHOSTD_TRY(wait(cid));
    if ((completion.status >> 1) != 0) {
        return make_error(EIO, "admin opcode {:#x} failed: status {:#x}", command.opcode,
                          completion.status >> 1);
    }
    return completion;
}

Result<void> NvmeVfioClient::identify(uint8_t cns_value, uint32_t nsid,
                                      frontend::GuestBuffer& buffer) {
    buffer = VHOSTD_TRY(page());
    VHOSTD_TRY(run(frontend::identify_command(cns_value, nsid, buffer.gpa)));
    return {};
}

Result<IdentifyController> NvmeVfioClient::identify_controller() {
    frontend::GuestBuffer buffer;
    VHOSTD_TRY(identify(cns::kController, 0, buffer));
    IdentifyController out;
    std::memcpy(&out, buffer.host, sizeof(out));
    return out;
}

Result<IdentifyNamespace> NvmeVfioClient::identify_namespace(uint32_t nsid) {
    frontend::GuestBuffer buffer;
    VHOSTD_TRY(identify(cns::kNamespace, nsid, buffer));
    IdentifyNamespace out;
    std::memcpy(&out, buffer.host, sizeof(out));
    return out;
}

Result<std::vector<uint32_t>> NvmeVfioClient::active_namespaces() {
    frontend::GuestBuffer buffer;
    VHOSTD_TRY(identify(cns::kActiveNamespaces, 0, buffer));
    return frontend::nsid_list(buffer.host);
}

Result<std::vector<uint32_t>> NvmeVfioClient::changed_namespaces() {
    frontend::GuestBuffer buffer = VHOSTD_TRY(page());
    VHOSTD_TRY(run(frontend::changed_namespaces_command(buffer.gpa)));
    return frontend::nsid_list(buffer.host);
}

}  // namespace vhostd::testing

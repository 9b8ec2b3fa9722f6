// Admin commands on the control reactor (NVMe 1.4 chapter 5): dispatch by opcode, the data
// transfers through the control reactor's memory snapshot, Identify, Get Log Page, Get and
// Set Features, Keep Alive, and the answers posted back to the admin queue's reactor.
#include <algorithm>
#include <array>
#include <chrono>
#include <vector>

#include "base/iovec.hpp"
#include "base/log.hpp"
#include "nvme/controller.hpp"
#include "nvme/data_pointer.hpp"
#include "nvme/identify.hpp"

namespace vhostd::nvme {

using namespace nvme_spec;

namespace {

constexpr uint16_t kCompositeTemperature = 313;  // kelvin: 40 C

}  // namespace

void Controller::execute_admin(const Command& command, uint32_t slot, uint64_t generation) {
    if (generation != generation_ || shutting_down_) {
        return;  // the admin queue it came from is gone: nobody waits for the answer
    }
    dispatch_admin(command, [this, slot, generation](Status status, uint32_t dw0) {
        answer_admin(slot, generation, status, dw0);
    });
}

void Controller::answer_admin(uint32_t slot, uint64_t generation, Status status, uint32_t dw0) {
    if (generation != generation_ || shutting_down_) {
        return;
    }
    post_to(0, [slot, generation, status, dw0](Shard& shard) {
        shard.complete_admin(slot, generation, status, dw0);
    });
}

void Controller::answer_event(const AsyncEvents::Answer& answer) {
    const uint64_t generation = generation_;
    post_to(0, [answer, generation](Shard& shard) {
        shard.complete_event(answer.cid, generation, answer.status, answer.dw0);
    });
}

void Controller::raise_event(uint8_t type, uint8_t info, uint8_t log_page) {
    if (auto answer = events_.raise(type, info, log_page)) {
        answer_event(*answer);
    }
}

void Controller::dispatch_admin(const Command& c, AdminAnswer answer) {
    // 4.2: fused operations are not supported (FUSES = 0), and admin commands use PRPs:
    // SGLs are for I/O commands only on PCIe.
    if ((c.flags & kFuseMask) != 0 || (c.flags >> kPsdtShift) != kPsdtPrp) {
        answer(status::kInvalidField, 0);
        return;
    }
    switch (c.opcode) {
        case admin_opcode::kIdentify:
            identify(c, answer);
            return;
        case admin_opcode::kGetLogPage:
            get_log_page(c, answer);
            return;
        case admin_opcode::kGetFeatures:
            get_features(c, answer);
            return;
        case admin_opcode::kSetFeatures:
            set_features(c, answer);
            return;
        case admin_opcode::kCreateIoCq:
            create_cq(c, std::move(answer));
            return;
        case admin_opcode::kCreateIoSq:
            create_sq(c, std::move(answer));
            return;
        case admin_opcode::kDeleteIoSq:
            delete_sq(c, std::move(answer));
            return;
        case admin_opcode::kDeleteIoCq:
            delete_cq(c, std::move(answer));
            return;
        case admin_opcode::kAbort:
            abort(c, answer);
            return;
        case admin_opcode::kKeepAlive:
            answer(kSuccess, 0);  // KAS = 0: no timer runs, the command is a no-op
            return;
        case admin_opcode::kDoorbellBufferConfig:
            if (!core_->options.shadow_doorbells) {
                answer(status::kInvalidOpcode, 0);  // OACS bit 8 is clear
                return;
            }
            doorbell_buffer_config(c, std::move(answer));
            return;
        default:
            // Namespace management and attachment, firmware, format, security, ...: OACS
            // reports none of them.
            answer(status::kInvalidOpcode, 0);
            return;
    }
}

Status Controller::transfer_to_host(const Command& c, std::span<const uint8_t> data,
                                    uint64_t length) {
    const uint32_t page = core_->page_size.load(std::memory_order_relaxed);
    std::vector<iovec> iov(length / page + 2 + 16);
    auto n = map_prps(*memory_, c.dptr1, c.dptr2, length, page, iov);
    if (!n) {
        return n.error();
    }
    const std::span<iovec> buffer = std::span(iov).first(*n);
    const size_t copied =
        iov_copy_in(buffer, 0, data.data(), std::min<uint64_t>(data.size(), length));
    if (copied < length) {
        iov_memset(buffer, copied, 0, length - copied);
    }
    if (memory_->faulted()) {
        enter_fatal("guest memory was cut off under an admin command's data");
        return status::kDataTransferError;
    }
    return kSuccess;
}

Status Controller::transfer_from_host(const Command& c, std::span<uint8_t> data) {
    const uint32_t page = core_->page_size.load(std::memory_order_relaxed);
    std::vector<iovec> iov(data.size() / page + 2 + 16);
    auto n = map_prps(*memory_, c.dptr1, c.dptr2, data.size(), page, iov);
    if (!n) {
        return n.error();
    }
    iov_copy_out(std::span(iov).first(*n), 0, data.data(), data.size());
    return kSuccess;
}

void Controller::identify(const Command& c, AdminAnswer& answer) {
    const uint8_t cns_value = static_cast<uint8_t>(c.cdw10 & 0xff);
    const uint8_t csi = static_cast<uint8_t>(c.cdw11 >> 24);
    std::array<uint8_t, kIdentifySize> data{};
    // 5.15: NSIDs a namespace structure may name: 1..NN (FFFFFFFFh needs namespace
    // management, which is not supported).
    const auto namespace_in_range = [&] { return c.nsid != 0 && c.nsid <= namespaces_.size(); };
    switch (cns_value) {
        case cns::kNamespace:
        case cns::kCsiNamespace: {
            if (cns_value == cns::kCsiNamespace && csi != kCsiNvm) {
                answer(status::kInvalidField, 0);
                return;
            }
            if (!namespace_in_range()) {
                answer(status::kInvalidNamespace, 0);
                return;
            }
            // An inactive NSID in range reads as zeroes; the NVM command set specific
            // structure has nothing this controller reports.
            if (const Namespace* ns = active_namespace(c.nsid);
                ns && cns_value == cns::kNamespace) {
                IdentifyNamespace id;
                ns->identify(id);
                std::memcpy(data.data(), &id, sizeof(id));
            }
            break;
        }
        case cns::kController: {
            IdentifyController id;
            identify_controller(core_->options, core_->options.shadow_doorbells, id);
            std::memcpy(data.data(), &id, sizeof(id));
            break;
        }
        case cns::kActiveNamespaces:
        case cns::kCsiActiveNamespaces: {
            if (cns_value == cns::kCsiActiveNamespaces && csi != kCsiNvm) {
                answer(status::kInvalidField, 0);
                return;
            }
            if (c.nsid >= 0xfffffffe) {
                answer(status::kInvalidNamespace, 0);
                return;
            }
            const std::vector<uint32_t> active = active_nsids();
            active_namespace_list(active, c.nsid, data);
            break;
        }
        case cns::kNamespaceDescriptors: {
            const Namespace* ns = active_namespace(c.nsid);
            if (ns == nullptr) {
                answer(status::kInvalidNamespace, 0);
                return;
            }
            ns->descriptors(data);
            break;
        }
        case cns::kCsiController: {
            if (csi != kCsiNvm) {
                answer(status::kInvalidField, 0);
                return;
            }
            IdentifyControllerNvm id;
            identify_controller_nvm(id);
            std::memcpy(data.data(), &id, sizeof(id));
            break;
        }
        default:
            answer(status::kInvalidField, 0);
            return;
    }
    answer(transfer_to_host(c, data, data.size()), 0);
}

void Controller::get_log_page(const Command& c, AdminAnswer& answer) {
    const uint8_t lid = static_cast<uint8_t>(c.cdw10 & 0xff);
    const bool retain = (c.cdw10 & kLogRae) != 0;
    // 5.14: NUMD (NUMDU:NUMDL) is a 0's based dword count; the offset is in bytes.
    const uint64_t dwords = ((uint64_t{c.cdw11 & 0xffff} << 16) | (c.cdw10 >> 16)) + 1;
    const uint64_t length = dwords * sizeof(uint32_t);
    const uint64_t offset = uint64_t{c.cdw12} | (uint64_t{c.cdw13} << 32);
    if (offset % sizeof(uint32_t) != 0 || length > core_->max_transfer_bytes()) {
        answer(status::kInvalidField, 0);  // dword aligned offsets; MDTS bounds the transfer
        return;
    }
    std::vector<uint8_t> page;
    switch (lid) {
        case log_id::kErrorInformation:
            page.resize(ErrorLog::kEntries * sizeof(ErrorLogEntry));
            error_log_.page(page);
            break;
        case log_id::kHealth: {
            // LPA bit 0 is clear: the log is for the whole controller only.
            if (c.nsid != 0 && c.nsid != kNsidBroadcast) {
                answer(status::kInvalidField, 0);
                return;
            }
            HealthInputs in;
            for (uint16_t qid = 1; qid <= core_->max_qid(); ++qid) {
                const IoCounters& counters = core_->io_counters(qid);
                in.bytes_read += queue::QueueStats::get(counters.bytes_read);
                in.bytes_written += queue::QueueStats::get(counters.bytes_written);
                in.read_commands += queue::QueueStats::get(counters.read_commands);
                in.write_commands += queue::QueueStats::get(counters.write_commands);
                in.media_errors += queue::QueueStats::get(counters.media_errors);
            }
            in.error_entries = error_log_.count();
            in.power_cycles = power_cycles_;
            in.power_on_hours =
                static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::hours>(
                                          std::chrono::steady_clock::now() - created_)
                                          .count());
            in.temperature = kCompositeTemperature;
            in.temperature_over = features_.temperature_over();
            page.resize(sizeof(HealthLog));
            health_log(in, page);
            break;
        }
        case log_id::kFirmwareSlot:
            page.resize(sizeof(FirmwareSlotLog));
            firmware_slot_log(page);
            break;
        case log_id::kChangedNamespaces:
            page.resize(kChangedNamespaceLogSize);
            changed_.page(page);
            break;
        default:
            answer(status::kInvalidLogPage, 0);
            return;
    }
    if (offset >= page.size()) {
        answer(status::kInvalidField, 0);
        return;
    }
    const Status result = transfer_to_host(c, std::span(page).subspan(offset), length);
    if (result == kSuccess && !retain) {
        // 5.14: reading without RAE ends the event's masking; the changed list starts over.
        events_.log_page_read(lid);
        if (lid == log_id::kChangedNamespaces) {
            changed_.clear();
        }
    }
    answer(result, 0);
}

void Controller::get_features(const Command& c, AdminAnswer& answer) {
    const uint8_t fid = static_cast<uint8_t>(c.cdw10 & 0xff);
    const uint32_t sel = (c.cdw10 >> kSelShift) & kSelMask;
    if (fid == feature::kHostIdentifier) {
        if (sel == kSelSupportedCapabilities) {
            answer(kSuccess, kFeatureChangeable);
            return;
        }
        // 5.21.1.26: EXHID selects the 128-bit identifier, else the 64-bit one.
        const size_t bytes = (c.cdw11 & kHostIdentifierExtended) != 0 ? 16 : 8;
        answer(transfer_to_host(c, std::span(features_.host_id).first(bytes), bytes), 0);
        return;
    }
    const FeatureResult result = features_.get(fid, sel, c.cdw11);
    answer(result.status, result.dw0);
}

void Controller::set_features(const Command& c, AdminAnswer& answer) {
    const uint8_t fid = static_cast<uint8_t>(c.cdw10 & 0xff);
    // 5.21: nothing is saveable (ONCS Save/Select is clear).
    if ((c.cdw10 & kSaveFeature) != 0) {
        answer(status::kFeatureNotSaveable, 0);
        return;
    }
    if (fid == feature::kHostIdentifier) {
        const size_t bytes = (c.cdw11 & kHostIdentifierExtended) != 0 ? 16 : 8;
        std::array<uint8_t, 16> id{};
        const Status result = transfer_from_host(c, std::span(id).first(bytes));
        if (result == kSuccess) {
            features_.host_id = id;
            features_.host_id_extended = bytes == 16;
        }
        answer(result, 0);
        return;
    }
    const FeatureResult result = features_.set(fid, c.cdw11, io_queues_exist());
    if (result.status == kSuccess) {
        // What the I/O path follows, published to the reactors.
        core_->write_cache_enabled.store(features_.write_cache(), std::memory_order_relaxed);
        core_->coalescing.store(features_.coalescing(), std::memory_order_relaxed);
        if (fid == feature::kInterruptVectorConfig) {
            const uint16_t vector = static_cast<uint16_t>(c.cdw11 & 0xffff);
            core_->set_coalescing_disabled(vector, features_.coalescing_disabled(vector));
        }
    }
    answer(result.status, result.dw0);
}

void Controller::abort(const Command& c, AdminAnswer& answer) {
    const uint16_t sqid = static_cast<uint16_t>(c.cdw10 & 0xffff);
    const uint16_t cid = static_cast<uint16_t>(c.cdw10 >> 16);
    // 5.1: dword 0 bit 0 set means "not aborted". Only an outstanding Asynchronous Event
    // Request can be: every other command is either done or with its backend.
    if (sqid == 0) {
        if (auto aborted = events_.abort(cid)) {
            answer_event(*aborted);
            answer(kSuccess, 0);
            return;
        }
    }
    answer(kSuccess, 1);
}

}  // namespace vhostd::nvme

// VFIOUSER transport options: parsing, the controller options they stand for, and reporting.
#include "targets/nvmf/transport.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include <fmt/format.h>

#include "rpc/method_table.hpp"
#include "rpc/params.hpp"

namespace vhostd::targets::nvmf {
namespace {

using rpc::invalid_params;
using rpc::Params;

// NVMe Base 3.1.3.1 (CAP.MQES, 0's based, 16 bits) with vhostd's controller limit of 4096
// entries; 2 is the smallest queue that can hold a command (one slot stays empty).
constexpr uint64_t kMinQueueDepth = 2;
constexpr uint64_t kMaxQueueDepth = 4096;
// The doorbell page holds 256 queue pairs: the admin queue and 255 I/O queues.
constexpr uint64_t kMaxIoQueuePairs = 255;

// Options SPDK's nvmf_create_transport takes that mean nothing to a zero-copy controller over
// vfio-user (buffer pools, TCP and RDMA settings, keep-alive timers of fabrics), with the value
// SPDK reports when they are not given. Accepted with any value, reported, saved.
struct ReportedOption {
    std::string_view name;
    uint64_t spdk_default;
    bool always_reported;  // part of SPDK's transport dump
};
constexpr std::array kReportedOptions = {
    ReportedOption{"in_capsule_data_size", 0, true},
    ReportedOption{"max_io_size", 131072, true},
    ReportedOption{"iobuf_small_cache_size", 0, true},
    ReportedOption{"iobuf_large_cache_size", 0, true},
    ReportedOption{"abort_timeout_sec", 0, true},
    ReportedOption{"ack_timeout", 0, true},
    ReportedOption{"data_wr_pool_size", 0, true},
    ReportedOption{"kas", 100, true},
    ReportedOption{"min_kato", 10000, true},
    ReportedOption{"io_unit_size", 0, false},
    ReportedOption{"num_shared_buffers", 0, false},
    ReportedOption{"buf_cache_size", 0, false},
    ReportedOption{"num_cqe", 0, false},
    ReportedOption{"max_srq_depth", 0, false},
    ReportedOption{"sock_priority", 0, false},
    ReportedOption{"acceptor_backlog", 0, false},
    ReportedOption{"acceptor_poll_rate", 0, false},
    ReportedOption{"control_msg_num", 0, false},
};

// Boolean switches of other transports (TCP, RDMA): accepted, no effect, not reported.
constexpr std::array<std::string_view, 3> kIgnoredSwitches = {"no_srq", "c2h_success",
                                                              "no_wr_batching"};

std::expected<uint32_t, rpc::RpcError> bounded(Params& p, std::string_view key, uint32_t fallback,
                                               uint64_t min, uint64_t max) {
    const auto value = RPC_TRY(p.optional_u64(key));
    if (!value) {
        return fallback;
    }
    if (*value < min || *value > max) {
        return invalid_params(fmt::format("params.{}: expected {} to {}", key, min, max));
    }
    return static_cast<uint32_t>(*value);
}

std::string upper(std::string text) {
    for (char& c : text) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return text;
}

}  // namespace

void TransportOptions::apply(nvme::ControllerOptions& options) const {
    options.mqes = static_cast<uint16_t>(max_queue_depth - 1);
    options.num_io_queues = static_cast<uint16_t>(max_io_qpairs_per_ctrlr);
    options.doorbell_mode =
        disable_mappable_bar0 ? nvme::DoorbellMode::trapped : nvme::DoorbellMode::mapped;
    options.shadow_doorbells = !disable_shadow_doorbells;
}

nlohmann::json TransportOptions::to_json() const {
    nlohmann::json out = {
        {"trtype", "VFIOUSER"},
        {"max_queue_depth", max_queue_depth},
        {"max_io_qpairs_per_ctrlr", max_io_qpairs_per_ctrlr},
        {"max_aq_depth", max_aq_depth},
        {"dif_insert_or_strip", false},
        {"zcopy", zcopy},
        {"disable_command_passthru", disable_command_passthru},
        {"disable_mappable_bar0", disable_mappable_bar0},
        {"disable_adaptive_irq", disable_adaptive_irq},
        {"disable_shadow_doorbells", disable_shadow_doorbells},
    };
    for (const ReportedOption& option : kReportedOptions) {
        const auto it = reported.find(option.name);
        if (it != reported.end()) {
            out[std::string(option.name)] = it->second;
        } else if (option.always_reported) {
            out[std::string(option.name)] = option.spdk_default;
        }
    }
    return out;
}

std::expected<TransportOptions, rpc::RpcError> parse_transport(const nlohmann::json* params) {
    Params p(params);
    TransportOptions options;
    const std::string trtype = RPC_TRY(p.string("trtype"));
    // SPDK compares transport names without regard to case.
    if (upper(trtype) != "VFIOUSER") {
        return invalid_params(fmt::format(
            "params.trtype: only VFIOUSER is supported by vhostd (not \"{}\")", trtype));
    }
    options.max_queue_depth = RPC_TRY(
        bounded(p, "max_queue_depth", options.max_queue_depth, kMinQueueDepth, kMaxQueueDepth));
    options.max_io_qpairs_per_ctrlr = RPC_TRY(bounded(
        p, "max_io_qpairs_per_ctrlr", options.max_io_qpairs_per_ctrlr, 1, kMaxIoQueuePairs));
    options.max_aq_depth =
        RPC_TRY(bounded(p, "max_aq_depth", options.max_aq_depth, kMinQueueDepth, kMaxQueueDepth));
    options.disable_mappable_bar0 =
        RPC_TRY(p.optional_bool("disable_mappable_bar0")).value_or(false);
    options.disable_shadow_doorbells =
        RPC_TRY(p.optional_bool("disable_shadow_doorbells")).value_or(false);
    options.disable_adaptive_irq = RPC_TRY(p.optional_bool("disable_adaptive_irq")).value_or(false);
    options.disable_command_passthru =
        RPC_TRY(p.optional_bool("disable_command_passthru")).value_or(false);
    options.zcopy = RPC_TRY(p.optional_bool("zcopy")).value_or(false);
    for (const ReportedOption& option : kReportedOptions) {
        const auto value = RPC_TRY(p.optional_u64(option.name));
        if (value) {
            options.reported.emplace(std::string(option.name), *value);
        }
    }
    for (std::string_view name : kIgnoredSwitches) {
        (void)RPC_TRY(p.optional_bool(name));
    }
    // Cannot work: vhostd has one NVMe-oF target, no protection information, and no command
    // masks in its controller.
    RPC_TRY(p.only_default("tgt_name", nullptr));
    RPC_TRY(p.only_default("dif_insert_or_strip", false));
    const auto masked_oncs = RPC_TRY(p.optional_string_array("masked_oncs"));
    const auto masked_fuses = RPC_TRY(p.optional_string_array("masked_fuses"));
    if ((masked_oncs && !masked_oncs->empty()) || (masked_fuses && !masked_fuses->empty())) {
        return invalid_params("params.masked_oncs, masked_fuses: not supported by vhostd");
    }
    RPC_TRY(p.finish());
    return options;
}

}  // namespace vhostd::targets::nvmf

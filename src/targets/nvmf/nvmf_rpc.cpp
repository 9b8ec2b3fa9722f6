// The nvmf_* methods: SPDK's names, parameters and reply shapes (rpc.py's requests and SPDK's
// save_config load unchanged); parameters that cannot work in vhostd are refused by name.
#include "targets/nvmf/nvmf_rpc.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>

#include <fmt/format.h>

#include "rpc/params.hpp"
#include "targets/nvmf/nvmf_target.hpp"

namespace vhostd::targets::nvmf {
namespace {

using nlohmann::json;
using rpc::invalid_params;
using rpc::operation_failed;
using rpc::Params;
using rpc::Reply;
using rpc::RpcError;
using rpc::RpcResult;

using Target = std::shared_ptr<NvmfTarget>;

// Params refuses fields it was not asked about; nested objects ("namespace",
// "listen_address") and SPDK fields of other types are taken out of a copy first and read
// on their own.
std::expected<json, RpcError> object_params(const json* params) {
    if (params == nullptr || params->is_null()) {
        return json::object();
    }
    if (!params->is_object()) {
        return invalid_params("params: expected an object");
    }
    return *params;
}

std::optional<json> take(json& params, const char* key) {
    auto it = params.find(key);
    if (it == params.end()) {
        return std::nullopt;
    }
    json value = std::move(*it);
    params.erase(it);
    return value;
}

std::expected<json, RpcError> take_object(json& params, const char* key) {
    std::optional<json> value = take(params, key);
    if (!value) {
        return invalid_params(fmt::format("params.{}: required", key));
    }
    if (!value->is_object()) {
        return invalid_params(fmt::format("params.{}: expected an object", key));
    }
    return std::move(*value);
}

std::expected<uint32_t, RpcError> optional_u32(Params& p, std::string_view key, uint32_t fallback,
                                               uint64_t max = UINT32_MAX) {
    const auto value = RPC_TRY(p.optional_u64(key));
    if (!value) {
        return fallback;
    }
    if (*value > max) {
        return invalid_params(fmt::format("params.{}: at most {}", key, max));
    }
    return static_cast<uint32_t>(*value);
}

std::expected<ListenAddress, RpcError> parse_listen_address(const json& object) {
    Params p(&object);
    ListenAddress address;
    const std::string trtype = RPC_TRY(p.string("trtype"));
    std::string upper = trtype;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (upper != "VFIOUSER") {
        return invalid_params(fmt::format(
            "params.listen_address.trtype: only VFIOUSER is supported by vhostd (not \"{}\")",
            trtype));
    }
    address.traddr = RPC_TRY(p.string("traddr"));
    address.trsvcid = RPC_TRY(p.optional_string("trsvcid")).value_or("");
    address.adrfam = RPC_TRY(p.optional_string("adrfam")).value_or("");
    (void)RPC_TRY(p.optional_u64("priority"));  // TCP only
    RPC_TRY(p.finish());
    return address;
}

// Every method's optional "tgt_name": vhostd has the one default target.
std::expected<void, RpcError> default_target(Params& p) {
    return p.only_default("tgt_name", nullptr);
}

RpcResult done_or(Result<void> result) {
    if (!result) {
        return operation_failed(result.error());
    }
    return true;
}

// --- the target and its settings ---

RpcResult create_transport(NvmfTarget& target, const json* params) {
    TransportOptions options = RPC_TRY(parse_transport(params));
    return done_or(target.create_transport(std::move(options)));
}

RpcResult get_transports(const NvmfTarget& target, const json* params) {
    Params p(params);
    const auto trtype = RPC_TRY(p.optional_string("trtype"));
    RPC_TRY(default_target(p));
    RPC_TRY(p.finish());
    json all = target.transports();
    if (trtype) {
        json out = json::array();
        for (const json& t : all) {
            std::string upper = *trtype;
            std::transform(upper.begin(), upper.end(), upper.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
            if (t.at("trtype") == upper) {
                out.push_back(t);
            }
        }
        if (out.empty()) {
            return operation_failed(make_error(ENODEV, "transport {} not found", *trtype).error());
        }
        return out;
    }
    return all;
}

RpcResult set_max_subsystems(NvmfTarget& target, const json* params) {
    Params p(params);
    const uint32_t max = RPC_TRY(optional_u32(p, "max_subsystems", 0));
    RPC_TRY(p.finish());
    return done_or(target.set_max_subsystems(max));
}

// SPDK's global options of its NVMe-oF target (discovery filters, admin command passthrough to
// NVMe bdevs, DH-HMAC-CHAP for fabrics): nothing a vfio-user controller over any bdev uses.
// Accepted so that SPDK's save_config loads; not applied.
RpcResult set_config(const json* params) {
    static constexpr std::array<std::string_view, 7> kKnown = {
        "discovery_filter", "discovery_filters", "admin_cmd_passthru", "poll_groups_mask",
        "dhchap_digests",   "dhchap_dhgroups",   "dup_host_policy"};
    json object = RPC_TRY(object_params(params));
    for (const auto& item : object.items()) {
        if (std::find(kKnown.begin(), kKnown.end(), item.key()) == kKnown.end()) {
            return invalid_params(fmt::format("params.{}: unknown parameter", item.key()));
        }
    }
    return true;
}

// Command Retry Delay Times: vhostd's controller never asks a host to delay a retry.
RpcResult set_crdt(const json* params) {
    Params p(params);
    RPC_TRY(p.only_default("crdt1", 0));
    RPC_TRY(p.only_default("crdt2", 0));
    RPC_TRY(p.only_default("crdt3", 0));
    RPC_TRY(p.finish());
    return true;
}

// --- subsystems ---

RpcResult create_subsystem(NvmfTarget& target, const json* params) {
    Params p(params);
    SubsystemSettings s;
    s.nqn = RPC_TRY(p.string("nqn"));
    const auto sn = RPC_TRY(p.optional_string("serial_number"));
    const auto mn = RPC_TRY(p.optional_string("model_number"));
    s.serial_number = sn.value_or(s.serial_number);
    s.model_number = mn.value_or(s.model_number);
    s.allow_any_host = RPC_TRY(p.optional_bool("allow_any_host")).value_or(false);
    s.max_namespaces = RPC_TRY(optional_u32(p, "max_namespaces", 0));
    s.min_cntlid = static_cast<uint16_t>(RPC_TRY(optional_u32(p, "min_cntlid", 1, 0xffff)));
    s.max_cntlid =
        static_cast<uint16_t>(RPC_TRY(optional_u32(p, "max_cntlid", s.max_cntlid, 0xffff)));
    s.admin_label = RPC_TRY(p.optional_string("admin_label")).value_or("");
    s.dmrsl = RPC_TRY(p.optional_u64("dmrsl")).value_or(0);
    s.wzsl = RPC_TRY(p.optional_u64("wzsl")).value_or(0);
    // Limits SPDK turns into DMRSL and WZSL; vhostd's controller reports its own.
    (void)RPC_TRY(p.optional_u64("max_discard_size_kib"));
    (void)RPC_TRY(p.optional_u64("max_write_zeroes_size_kib"));
    // Cannot work: no ANA, no passthrough to an NVMe bdev, no NVM subsystem reset.
    RPC_TRY(p.only_default("ana_reporting", false));
    RPC_TRY(p.only_default("passthrough", false));
    RPC_TRY(p.only_default("enable_nssr", false));
    RPC_TRY(default_target(p));
    RPC_TRY(p.finish());
    return done_or(target.create_subsystem(std::move(s)));
}

void delete_subsystem(NvmfTarget& target, const json* params, Reply reply) {
    Params p(params);
    auto nqn = p.string("nqn");
    if (!nqn) {
        reply(std::unexpected(nqn.error()));
        return;
    }
    if (auto checked = default_target(p); !checked) {
        reply(std::unexpected(checked.error()));
        return;
    }
    if (auto finished = p.finish(); !finished) {
        reply(std::unexpected(finished.error()));
        return;
    }
    target.delete_subsystem(
        *nqn, [reply = std::move(reply)](Result<void> r) mutable { reply(done_or(std::move(r))); });
}

RpcResult get_subsystems(const NvmfTarget& target, const json* params) {
    Params p(params);
    const auto nqn = RPC_TRY(p.optional_string("nqn"));
    RPC_TRY(default_target(p));
    RPC_TRY(p.finish());
    auto listed = target.subsystems(nqn);
    if (!listed) {
        return operation_failed(listed.error());
    }
    return std::move(*listed);
}

// nvmf_subsystem_get_listeners, _get_controllers, _get_qpairs: {nqn, tgt_name}.
template <typename List>
RpcResult subsystem_listing(const json* params, List list) {
    Params p(params);
    const std::string nqn = RPC_TRY(p.string("nqn"));
    RPC_TRY(default_target(p));
    RPC_TRY(p.finish());
    auto listed = list(nqn);
    if (!listed) {
        return operation_failed(listed.error());
    }
    return std::move(*listed);
}

// nvmf_subsystem_add_host, _remove_host: {nqn, host}; keys for TLS and DH-HMAC-CHAP are for
// fabrics and refused.
RpcResult change_host(NvmfTarget& target, const json* params, bool add) {
    Params p(params);
    const std::string nqn = RPC_TRY(p.string("nqn"));
    const std::string host = RPC_TRY(p.string("host"));
    RPC_TRY(default_target(p));
    if (add) {
        RPC_TRY(p.only_default("psk", nullptr));
        RPC_TRY(p.only_default("dhchap_key", nullptr));
        RPC_TRY(p.only_default("dhchap_ctrlr_key", nullptr));
    } else {
        (void)RPC_TRY(p.optional_u64("timeout_ms"));  // nothing to disconnect: no host NQNs
    }
    RPC_TRY(p.finish());
    return done_or(add ? target.add_host(nqn, host) : target.remove_host(nqn, host));
}

RpcResult allow_any_host(NvmfTarget& target, const json* params) {
    Params p(params);
    const std::string nqn = RPC_TRY(p.string("nqn"));
    const auto allow = RPC_TRY(p.optional_bool("allow_any_host"));
    RPC_TRY(default_target(p));
    RPC_TRY(p.finish());
    if (!allow) {
        return invalid_params("params.allow_any_host: required");
    }
    return done_or(target.set_allow_any_host(nqn, *allow));
}

// --- namespaces ---

RpcResult add_ns(NvmfTarget& target, const json* params) {
    json rest = RPC_TRY(object_params(params));
    const json object = RPC_TRY(take_object(rest, "namespace"));
    Params p(&rest);
    const std::string nqn = RPC_TRY(p.string("nqn"));
    RPC_TRY(default_target(p));
    RPC_TRY(p.finish());

    Params ns(&object);
    NamespaceParams n;
    n.bdev_name = RPC_TRY(ns.string("bdev_name"));
    // NSID FFFFFFFFh is the broadcast value (NVMe Base 3.2.1.2); 0 asks for the lowest free.
    n.nsid = RPC_TRY(optional_u32(ns, "nsid", 0, 0xfffffffe));
    n.uuid = RPC_TRY(ns.optional_string("uuid"));
    n.nguid = RPC_TRY(ns.optional_string("nguid"));
    n.eui64 = RPC_TRY(ns.optional_string("eui64"));
    (void)RPC_TRY(ns.optional_u64("anagrpid"));  // no ANA reporting: no groups
    // Cannot work: namespaces are visible to every controller, and there are no
    // reservations to persist.
    RPC_TRY(ns.only_default("no_auto_visible", false));
    RPC_TRY(ns.only_default("hide_metadata", false));
    RPC_TRY(ns.only_default("ptpl_file", nullptr));
    RPC_TRY(ns.finish());
    auto nsid = target.add_namespace(nqn, n);
    if (!nsid) {
        return operation_failed(nsid.error());
    }
    return *nsid;
}

void remove_ns(NvmfTarget& target, const json* params, Reply reply) {
    auto parsed = [&]() -> std::expected<std::pair<std::string, uint32_t>, RpcError> {
        Params p(params);
        const std::string nqn = RPC_TRY(p.string("nqn"));
        const uint32_t nsid = RPC_TRY(optional_u32(p, "nsid", 0));
        if (nsid == 0) {
            return invalid_params("params.nsid: a namespace ID (1 or more) is required");
        }
        RPC_TRY(default_target(p));
        RPC_TRY(p.finish());
        return std::pair{nqn, nsid};
    }();
    if (!parsed) {
        reply(std::unexpected(parsed.error()));
        return;
    }
    target.remove_namespace(
        parsed->first, parsed->second,
        [reply = std::move(reply)](Result<void> r) mutable { reply(done_or(std::move(r))); });
}

// --- listeners ---

RpcResult add_listener(NvmfTarget& target, const json* params) {
    json rest = RPC_TRY(object_params(params));
    const json object = RPC_TRY(take_object(rest, "listen_address"));
    // SPDK's save_config writes numa_id -1 (any node): vhostd's cpumask says where it runs.
    if (auto numa = take(rest, "numa_id"); numa && !numa->is_number_integer()) {
        return invalid_params("params.numa_id: expected an integer");
    }
    Params p(&rest);
    ListenerParams l;
    const std::string nqn = RPC_TRY(p.string("nqn"));
    l.cpumask = RPC_TRY(p.optional_string("cpumask")).value_or("");
    RPC_TRY(p.only_default("secure_channel", false));  // TLS is for TCP
    RPC_TRY(default_target(p));
    RPC_TRY(p.finish());
    l.address = RPC_TRY(parse_listen_address(object));
    l.address.trtype = "VFIOUSER";
    return done_or(target.add_listener(nqn, l));
}

void remove_listener(NvmfTarget& target, const json* params, Reply reply) {
    auto parsed = [&]() -> std::expected<std::pair<std::string, ListenAddress>, RpcError> {
        json rest = RPC_TRY(object_params(params));
        const json object = RPC_TRY(take_object(rest, "listen_address"));
        Params p(&rest);
        const std::string nqn = RPC_TRY(p.string("nqn"));
        RPC_TRY(default_target(p));
        RPC_TRY(p.finish());
        ListenAddress address = RPC_TRY(parse_listen_address(object));
        return std::pair{nqn, std::move(address)};
    }();
    if (!parsed) {
        reply(std::unexpected(parsed.error()));
        return;
    }
    target.remove_listener(
        parsed->first, parsed->second,
        [reply = std::move(reply)](Result<void> r) mutable { reply(done_or(std::move(r))); });
}

RpcResult get_stats(const NvmfTarget& target, const json* params) {
    Params p(params);
    RPC_TRY(default_target(p));
    RPC_TRY(p.finish());
    return target.stats();
}

}  // namespace

void register_nvmf(controller::ControllerContext& context) {
    Target target = std::make_shared<NvmfTarget>(context);
    rpc::MethodTable& m = context.methods;
    m.add_sync("nvmf_create_transport",
               [target](const json* p) { return create_transport(*target, p); });
    m.add_sync("nvmf_get_transports",
               [target](const json* p) { return get_transports(*target, p); });
    m.add_sync("nvmf_set_max_subsystems",
               [target](const json* p) { return set_max_subsystems(*target, p); });
    m.add_sync("nvmf_set_config", [](const json* p) { return set_config(p); });
    m.add_sync("nvmf_set_crdt", [](const json* p) { return set_crdt(p); });
    m.add_sync("nvmf_create_subsystem",
               [target](const json* p) { return create_subsystem(*target, p); });
    m.add("nvmf_delete_subsystem",
          [target](const json* p, Reply reply) { delete_subsystem(*target, p, std::move(reply)); });
    m.add_sync("nvmf_get_subsystems",
               [target](const json* p) { return get_subsystems(*target, p); });
    m.add_sync("nvmf_subsystem_add_host",
               [target](const json* p) { return change_host(*target, p, true); });
    m.add_sync("nvmf_subsystem_remove_host",
               [target](const json* p) { return change_host(*target, p, false); });
    m.add_sync("nvmf_subsystem_allow_any_host",
               [target](const json* p) { return allow_any_host(*target, p); });
    m.add_sync("nvmf_subsystem_add_ns", [target](const json* p) { return add_ns(*target, p); });
    m.add("nvmf_subsystem_remove_ns",
          [target](const json* p, Reply reply) { remove_ns(*target, p, std::move(reply)); });
    m.add_sync("nvmf_subsystem_add_listener",
               [target](const json* p) { return add_listener(*target, p); });
    m.add("nvmf_subsystem_remove_listener",
          [target](const json* p, Reply reply) { remove_listener(*target, p, std::move(reply)); });
    m.add_sync("nvmf_subsystem_get_listeners", [target](const json* p) {
        return subsystem_listing(p, [&](const std::string& nqn) { return target->listeners(nqn); });
    });
    m.add_sync("nvmf_subsystem_get_controllers", [target](const json* p) {
        return subsystem_listing(p,
                                 [&](const std::string& nqn) { return target->controllers(nqn); });
    });
    m.add_sync("nvmf_subsystem_get_qpairs", [target](const json* p) {
        return subsystem_listing(p, [&](const std::string& nqn) { return target->qpairs(nqn); });
    });
    m.add_sync("nvmf_get_stats", [target](const json* p) { return get_stats(*target, p); });
    context.config.add("nvmf", {"bdev"}, [target] { return target->config_calls(); });
}

}  // namespace vhostd::targets::nvmf

// NvmfTarget's listings in SPDK's shapes (nvmf_get_subsystems, nvmf_subsystem_get_listeners,
// _get_controllers, _get_qpairs, nvmf_get_stats) and its save_config calls.
#include <algorithm>

#include <fmt/format.h>

#include "targets/nvmf/nqn.hpp"
#include "targets/nvmf/nvmf_target.hpp"

namespace vhostd::targets::nvmf {
namespace {

nlohmann::json call(std::string method, nlohmann::json params) {
    return {{"method", std::move(method)}, {"params", std::move(params)}};
}

}  // namespace

// --- listings ---

Result<nlohmann::json> NvmfTarget::subsystems(const std::optional<std::string>& nqn) const {
    nlohmann::json out = nlohmann::json::array();
    if (!nqn || *nqn == kDiscoveryNqn) {
        out.push_back({{"nqn", kDiscoveryNqn},
                       {"subtype", "Discovery"},
                       {"listen_addresses", nlohmann::json::array()},
                       {"allow_any_host", true},
                       {"hosts", nlohmann::json::array()}});
    }
    for (const auto& subsystem : subsystems_) {
        const SubsystemSettings& s = subsystem->settings;
        if (nqn && *nqn != s.nqn) {
            continue;
        }
        nlohmann::json listen = nlohmann::json::array();
        for (const Listener& l : subsystem->listeners) {
            listen.push_back(l.address.to_json());
        }
        nlohmann::json namespaces = nlohmann::json::array();
        for (const NamespaceRecord& ns : subsystem->namespaces) {
            namespaces.push_back({{"nsid", ns.nsid},
                                  {"bdev_name", ns.bdev_name},
                                  {"name", ns.bdev_name},
                                  {"nguid", nguid_of(ns.uuid)},
                                  {"eui64", eui64_of(ns.uuid)},
                                  {"uuid", ns.uuid}});
        }
        nlohmann::json hosts = nlohmann::json::array();
        for (const std::string& host : subsystem->hosts) {
            hosts.push_back({{"nqn", host}});
        }
        nlohmann::json entry = {{"nqn", s.nqn},
                                {"subtype", "NVMe"},
                                {"listen_addresses", std::move(listen)},
                                {"allow_any_host", s.allow_any_host},
                                {"hosts", std::move(hosts)},
                                {"serial_number", s.serial_number},
                                {"model_number", s.model_number},
                                {"max_namespaces", s.max_namespaces},
                                {"passthrough", false},
                                {"min_cntlid", s.min_cntlid},
                                {"max_cntlid", s.max_cntlid},
                                {"dmrsl", s.dmrsl},
                                {"wzsl", s.wzsl},
                                {"namespaces", std::move(namespaces)}};
        if (!s.admin_label.empty()) {
            entry["admin_label"] = s.admin_label;
        }
        out.push_back(std::move(entry));
    }
    if (nqn && out.empty()) {
        return make_error(ENODEV, "Subsystem with NQN '{}' not found", *nqn);
    }
    return out;
}

Result<nlohmann::json> NvmfTarget::listeners(const std::string& nqn) const {
    const Subsystem* subsystem = VHOSTD_TRY(existing(nqn));
    nlohmann::json out = nlohmann::json::array();
    for (const Listener& l : subsystem->listeners) {
        out.push_back({{"address", l.address.to_json()}});
    }
    return out;
}

Result<nlohmann::json> NvmfTarget::controllers(const std::string& nqn) const {
    const Subsystem* subsystem = VHOSTD_TRY(existing(nqn));
    nlohmann::json out = nlohmann::json::array();
    for (const Listener& l : subsystem->listeners) {
        const NvmfController* c = controller_of(l);
        if (c == nullptr || !c->connected()) {
            continue;
        }
        const nvme::ControllerState state = c->nvme().state();
        // A vfio-user client has no host NQN or host ID.
        out.push_back({{"cntlid", l.cntlid},
                       {"cntrltype", "io"},
                       {"hostnqn", ""},
                       {"hostid", "00000000-0000-0000-0000-000000000000"},
                       {"num_io_qpairs", state.io_submission_queues},
                       {"listen_address", l.address.to_json()},
                       {"ctrlr", c->name()}});
    }
    return out;
}

Result<nlohmann::json> NvmfTarget::qpairs(const std::string& nqn) const {
    const Subsystem* subsystem = VHOSTD_TRY(existing(nqn));
    nlohmann::json out = nlohmann::json::array();
    for (const Listener& l : subsystem->listeners) {
        const NvmfController* c = controller_of(l);
        if (c == nullptr || !c->connected()) {
            continue;
        }
        for (const queue::QueueCounters& q : c->queue_counters()) {
            out.push_back({{"cntlid", l.cntlid},
                           {"qid", q.index},
                           {"state", "active"},
                           {"thread", fmt::format("nvmf_tgt_poll_group_{:03}", q.reactor)},
                           {"hostnqn", ""},
                           {"listen_address", l.address.to_json()},
                           {"requests", q.requests},
                           {"completions", q.completions},
                           {"inflight", q.inflight},
                           {"interrupts", q.calls}});
        }
    }
    return out;
}

nlohmann::json NvmfTarget::stats() const {
    // One poll group per I/O reactor, as SPDK has one per core. As in SPDK, admin_qpairs,
    // io_qpairs and completed_nvme_io count since the controllers were created (clients come
    // and go), current_* and pending_bdev_io what is there now.
    struct Group {
        uint64_t admin = 0, io = 0, current_admin = 0, current_io = 0, inflight = 0, completed = 0;
    };
    std::vector<Group> groups(context_.reactors.size());
    std::vector<unsigned> ids;
    ids.reserve(context_.reactors.size());
    for (size_t i = 0; i < context_.reactors.size(); ++i) {
        ids.push_back(context_.reactors.at(i).id());
    }
    auto group_of = [&](unsigned reactor) -> Group* {
        auto at = std::find(ids.begin(), ids.end(), reactor);
        return at == ids.end() ? nullptr : &groups[static_cast<size_t>(at - ids.begin())];
    };
    for (const auto& subsystem : subsystems_) {
        for (const Listener& l : subsystem->listeners) {
            const NvmfController* c = controller_of(l);
            if (c == nullptr) {
                continue;
            }
            for (const queue::QueueCounters& q : c->queue_counters()) {
                if (Group* g = group_of(q.reactor)) {
                    (q.index == 0 ? g->current_admin : g->current_io) += 1;
                    g->inflight += q.inflight;
                }
            }
            for (const nvme::PollGroupTotals& t : c->poll_group_totals()) {
                if (Group* g = group_of(t.reactor)) {
                    g->admin += t.admin_qpairs;
                    g->io += t.io_qpairs;
                    g->completed += t.io_completions;
                }
            }
        }
    }
    nlohmann::json poll_groups = nlohmann::json::array();
    for (size_t i = 0; i < groups.size(); ++i) {
        const Group& g = groups[i];
        nlohmann::json transports = nlohmann::json::array();
        if (transport_) {
            transports.push_back({{"trtype", "VFIOUSER"}});
        }
        poll_groups.push_back({{"name", fmt::format("nvmf_tgt_poll_group_{:03}", ids[i])},
                               {"admin_qpairs", g.admin},
                               {"io_qpairs", g.io},
                               {"current_admin_qpairs", g.current_admin},
                               {"current_io_qpairs", g.current_io},
                               {"pending_bdev_io", g.inflight},
                               {"completed_nvme_io", g.completed},
                               {"transports", std::move(transports)}});
    }
    // vhostd's times are nanoseconds (framework_get_reactors' tick_rate too).
    return {{"tick_rate", 1'000'000'000}, {"poll_groups", std::move(poll_groups)}};
}

nlohmann::json NvmfTarget::config_calls() const {
    nlohmann::json calls = nlohmann::json::array();
    if (max_subsystems_ != kDefaultMaxSubsystems) {
        calls.push_back(call("nvmf_set_max_subsystems", {{"max_subsystems", max_subsystems_}}));
    }
    if (transport_) {
        calls.push_back(call("nvmf_create_transport", transport_->to_json()));
    }
    // SPDK's order: every subsystem, then every host, every namespace, every listener.
    for (const auto& subsystem : subsystems_) {
        const SubsystemSettings& s = subsystem->settings;
        nlohmann::json params = {{"nqn", s.nqn},
                                 {"serial_number", s.serial_number},
                                 {"model_number", s.model_number},
                                 {"allow_any_host", s.allow_any_host},
                                 {"max_namespaces", s.max_namespaces},
                                 {"min_cntlid", s.min_cntlid},
                                 {"max_cntlid", s.max_cntlid},
                                 {"ana_reporting", false}};
        if (!s.admin_label.empty()) {
            params["admin_label"] = s.admin_label;
        }
        if (s.dmrsl != 0) {
            params["dmrsl"] = s.dmrsl;
        }
        if (s.wzsl != 0) {
            params["wzsl"] = s.wzsl;
        }
        calls.push_back(call("nvmf_create_subsystem", std::move(params)));
    }
    for (const auto& subsystem : subsystems_) {
        for (const std::string& host : subsystem->hosts) {
            calls.push_back(call("nvmf_subsystem_add_host",
                                 {{"nqn", subsystem->settings.nqn}, {"host", host}}));
        }
    }
    for (const auto& subsystem : subsystems_) {
        for (const NamespaceRecord& ns : subsystem->namespaces) {
            calls.push_back(call("nvmf_subsystem_add_ns", {{"nqn", subsystem->settings.nqn},
                                                           {"namespace",
                                                            {{"nsid", ns.nsid},
                                                             {"bdev_name", ns.bdev_name},
                                                             {"nguid", nguid_of(ns.uuid)},
                                                             {"uuid", ns.uuid}}}}));
        }
    }
    for (const auto& subsystem : subsystems_) {
        for (const Listener& l : subsystem->listeners) {
            nlohmann::json params = {{"nqn", subsystem->settings.nqn},
                                     {"listen_address", l.address.to_json()}};
            if (!l.cpumask.empty()) {
                params["cpumask"] = l.cpumask;
            }
            calls.push_back(call("nvmf_subsystem_add_listener", std::move(params)));
        }
    }
    return calls;
}

}  // namespace vhostd::targets::nvmf

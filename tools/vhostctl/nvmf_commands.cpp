// Subcommands of the nvmf_* methods (NVMe controllers over vfio-user), with rpc.py's argument
// names and positions (nvmf_create_transport's -M and -S included), plus vhostd's --cpumask on
// nvmf_subsystem_add_listener.
#include <memory>

#include "method_command.hpp"

namespace vhostctl {
namespace {

using nlohmann::json;

// {"nqn": ...} methods: nvmf_delete_subsystem and the per-subsystem listings.
void add_nqn_command(CLI::App& app, Action& action, const std::string& name,
                     const std::string& help) {
    auto nqn = std::make_shared<std::string>();
    CLI::App* sub = method(app, action, name, help, [nqn] { return json{{"nqn", *nqn}}; });
    sub->add_option("nqn", *nqn, "subsystem NQN")->required();
}

struct Address {
    std::string nqn, trtype, traddr;
    std::optional<std::string> adrfam, trsvcid, cpumask;

    [[nodiscard]] json params() const {
        json address = {{"trtype", trtype}, {"traddr", traddr}};
        put(address, "adrfam", adrfam);
        put(address, "trsvcid", trsvcid);
        json p = {{"nqn", nqn}, {"listen_address", std::move(address)}};
        put(p, "cpumask", cpumask);
        return p;
    }
};

void add_address_options(CLI::App* sub, Address& a) {
    sub->add_option("nqn", a.nqn, "subsystem NQN")->required();
    sub->add_option("-t,--trtype", a.trtype, "transport type: VFIOUSER")->required();
    sub->add_option("-a,--traddr", a.traddr, "a directory; the socket is TRADDR/cntrl")->required();
    sub->add_option("-f,--adrfam", a.adrfam, "address family (reported only)");
    sub->add_option("-s,--trsvcid", a.trsvcid, "service id (reported only)");
}

void add_transport_commands(CLI::App& app, Action& action) {
    struct Transport {
        std::string trtype;
        std::optional<uint32_t> max_queue_depth, max_io_qpairs_per_ctrlr, in_capsule_data_size,
            max_io_size, io_unit_size, max_aq_depth, num_shared_buffers, buf_cache_size;
        bool zcopy = false, disable_mappable_bar0 = false, disable_adaptive_irq = false,
             disable_shadow_doorbells = false;
    };
    auto t = std::make_shared<Transport>();
    CLI::App* sub =
        method(app, action, "nvmf_create_transport", "create the VFIOUSER transport", [t] {
            json p = {{"trtype", t->trtype}};
            put(p, "max_queue_depth", t->max_queue_depth);
            put(p, "max_io_qpairs_per_ctrlr", t->max_io_qpairs_per_ctrlr);
            put(p, "in_capsule_data_size", t->in_capsule_data_size);
            put(p, "max_io_size", t->max_io_size);
            put(p, "io_unit_size", t->io_unit_size);
            put(p, "max_aq_depth", t->max_aq_depth);
            put(p, "num_shared_buffers", t->num_shared_buffers);
            put(p, "buf_cache_size", t->buf_cache_size);
            for (const auto& [key, on] :
                 {std::pair{"zcopy", t->zcopy},
                  std::pair{"disable_mappable_bar0", t->disable_mappable_bar0},
                  std::pair{"disable_adaptive_irq", t->disable_adaptive_irq},
                  std::pair{"disable_shadow_doorbells", t->disable_shadow_doorbells}}) {
                if (on) {
                    p[key] = true;
                }
            }
            return p;
        });
    sub->add_option("-t,--trtype", t->trtype, "transport type: VFIOUSER")->required();
    sub->add_option("-q,--max-queue-depth", t->max_queue_depth, "entries per I/O queue");
    sub->add_option("-m,--max-io-qpairs-per-ctrlr", t->max_io_qpairs_per_ctrlr,
                    "I/O queue pairs per controller");
    sub->add_option("-c,--in-capsule-data-size", t->in_capsule_data_size, "(reported only)");
    sub->add_option("-i,--max-io-size", t->max_io_size, "(reported only)");
    sub->add_option("-u,--io-unit-size", t->io_unit_size, "(reported only)");
    sub->add_option("-a,--max-aq-depth", t->max_aq_depth, "(reported only)");
    sub->add_option("-n,--num-shared-buffers", t->num_shared_buffers, "(reported only)");
    sub->add_option("-b,--buf-cache-size", t->buf_cache_size, "(reported only)");
    sub->add_flag("-z,--zcopy", t->zcopy, "zero copy (vhostd always is)");
    sub->add_flag("-M,--disable-mappable-bar0", t->disable_mappable_bar0,
                  "trapped doorbells: no mmap of BAR0's doorbell page");
    sub->add_flag("-I,--disable-adaptive-irq", t->disable_adaptive_irq, "(reported only)");
    sub->add_flag("-S,--disable-shadow-doorbells", t->disable_shadow_doorbells,
                  "no Doorbell Buffer Config (shadow doorbells)");

    auto trtype = std::make_shared<std::optional<std::string>>();
    sub = method(app, action, "nvmf_get_transports", "list the transport", [trtype] {
        json p = json::object();
        put(p, "trtype", *trtype);
        return p.empty() ? json() : p;
    });
    sub->add_option("--trtype", *trtype, "only this transport type");

    auto max = std::make_shared<uint32_t>(0);
    sub = method(app, action, "nvmf_set_max_subsystems", "limit the number of subsystems", [max] {
        return json{{"max_subsystems", *max}};
    });
    sub->add_option("-x,--max-subsystems", *max, "most subsystems")->required();

    method(app, action, "nvmf_get_stats", "per-reactor queue pair counts and completions");
}

void add_subsystem_commands(CLI::App& app, Action& action) {
    struct Create {
        std::string nqn;
        std::optional<std::string> serial_number, model_number, admin_label;
        std::optional<uint32_t> max_namespaces, min_cntlid, max_cntlid;
        std::optional<uint64_t> dmrsl, wzsl;
        bool allow_any_host = false, ana_reporting = false;
    };
    auto c = std::make_shared<Create>();
    CLI::App* sub = method(app, action, "nvmf_create_subsystem", "create a subsystem", [c] {
        json p = {{"nqn", c->nqn}, {"allow_any_host", c->allow_any_host}};
        put(p, "serial_number", c->serial_number);
        put(p, "model_number", c->model_number);
        put(p, "max_namespaces", c->max_namespaces);
        put(p, "min_cntlid", c->min_cntlid);
        put(p, "max_cntlid", c->max_cntlid);
        put(p, "dmrsl", c->dmrsl);
        put(p, "wzsl", c->wzsl);
        put(p, "admin_label", c->admin_label);
        if (c->ana_reporting) {
            p["ana_reporting"] = true;  // refused by vhostd, with the reason
        }
        return p;
    });
    sub->add_option("nqn", c->nqn, "subsystem NQN")->required();
    sub->add_option("-s,--serial-number", c->serial_number, "serial number (20 characters)");
    sub->add_option("-d,--model-number", c->model_number, "model number (40 characters)");
    sub->add_flag("-a,--allow-any-host", c->allow_any_host, "any host may connect");
    sub->add_option("-m,--max-namespaces", c->max_namespaces, "most namespaces (default 32)");
    sub->add_flag("-r,--ana-reporting", c->ana_reporting, "ANA reporting (not supported)");
    sub->add_option("-i,--min-cntlid", c->min_cntlid, "lowest controller ID");
    sub->add_option("-I,--max-cntlid", c->max_cntlid, "highest controller ID");
    sub->add_option("--dmrsl", c->dmrsl, "(reported only)");
    sub->add_option("--wzsl", c->wzsl, "(reported only)");
    sub->add_option("--admin-label", c->admin_label, "(reported only)");

    add_nqn_command(app, action, "nvmf_delete_subsystem",
                    "delete a subsystem (refused while a client is attached)");

    auto nqn = std::make_shared<std::optional<std::string>>();
    sub = method(app, action, "nvmf_get_subsystems", "list subsystems", [nqn] {
        json p = json::object();
        put(p, "nqn", *nqn);
        return p.empty() ? json() : p;
    });
    sub->add_option("nqn", *nqn, "only this subsystem");

    struct Host {
        std::string nqn, host;
    };
    for (const bool add : {true, false}) {
        auto h = std::make_shared<Host>();
        sub = method(app, action, add ? "nvmf_subsystem_add_host" : "nvmf_subsystem_remove_host",
                     add ? "record an allowed host NQN (reported, not enforced)"
                         : "drop an allowed host NQN",
                     [h] {
                         return json{{"nqn", h->nqn}, {"host", h->host}};
                     });
        sub->add_option("nqn", h->nqn, "subsystem NQN")->required();
        sub->add_option("host", h->host, "host NQN")->required();
    }
    struct AllowAny {
        std::string nqn;
        bool allow = false;
    };
    auto any = std::make_shared<AllowAny>();
    sub = method(app, action, "nvmf_subsystem_allow_any_host", "set allow_any_host (reported)",
                 [any] {
                     return json{{"nqn", any->nqn}, {"allow_any_host", any->allow}};
                 });
    sub->add_option("nqn", any->nqn, "subsystem NQN")->required();
    sub->add_flag("--allow-any-host,!--no-allow-any-host", any->allow, "allow any host or not");

    add_nqn_command(app, action, "nvmf_subsystem_get_listeners", "list a subsystem's listeners");
    add_nqn_command(app, action, "nvmf_subsystem_get_controllers",
                    "list a subsystem's attached controllers");
    add_nqn_command(app, action, "nvmf_subsystem_get_qpairs",
                    "list a subsystem's queue pairs with their counters");
}

void add_namespace_commands(CLI::App& app, Action& action) {
    struct Ns {
        std::string nqn, bdev_name;
        std::optional<uint32_t> nsid;
        std::optional<std::string> nguid, eui64, uuid;
    };
    auto n = std::make_shared<Ns>();
    CLI::App* sub =
        method(app, action, "nvmf_subsystem_add_ns", "add a namespace over a bdev", [n] {
            json ns = {{"bdev_name", n->bdev_name}};
            put(ns, "nsid", n->nsid);
            put(ns, "nguid", n->nguid);
            put(ns, "eui64", n->eui64);
            put(ns, "uuid", n->uuid);
            return json{{"nqn", n->nqn}, {"namespace", std::move(ns)}};
        });
    sub->add_option("nqn", n->nqn, "subsystem NQN")->required();
    sub->add_option("bdev_name", n->bdev_name, "bdev to expose")->required();
    sub->add_option("-n,--nsid", n->nsid, "namespace ID (default: the lowest free)");
    sub->add_option("-g,--nguid", n->nguid, "NGUID (must match the UUID's bytes)");
    sub->add_option("-e,--eui64", n->eui64, "EUI-64 (must match the one the UUID gives)");
    sub->add_option("-u,--uuid", n->uuid, "namespace UUID (default: the bdev's)");

    struct Remove {
        std::string nqn;
        uint32_t nsid = 0;
    };
    auto r = std::make_shared<Remove>();
    sub = method(app, action, "nvmf_subsystem_remove_ns", "remove a namespace", [r] {
        return json{{"nqn", r->nqn}, {"nsid", r->nsid}};
    });
    sub->add_option("nqn", r->nqn, "subsystem NQN")->required();
    sub->add_option("nsid", r->nsid, "namespace ID")->required();
}

void add_listener_commands(CLI::App& app, Action& action) {
    auto add = std::make_shared<Address>();
    CLI::App* sub = method(app, action, "nvmf_subsystem_add_listener",
                           "serve the subsystem on TRADDR/cntrl", [add] { return add->params(); });
    add_address_options(sub, *add);
    sub->add_option("--cpumask", add->cpumask, "reactors serving its queues (default: all)");

    auto remove = std::make_shared<Address>();
    sub = method(app, action, "nvmf_subsystem_remove_listener",
                 "close TRADDR/cntrl (an attached client is detached)",
                 [remove] { return remove->params(); });
    add_address_options(sub, *remove);
}

}  // namespace

void add_nvmf_commands(CLI::App& app, Action& action) {
    add_transport_commands(app, action);
    add_subsystem_commands(app, action);
    add_namespace_commands(app, action);
    add_listener_commands(app, action);
}

}  // namespace vhostctl

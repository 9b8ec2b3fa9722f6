// The method subcommands: argument parsing in rpc.py's style, one call, the result printed.
#include "commands.hpp"

#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "method_command.hpp"

namespace vhostctl {
namespace {

using nlohmann::json;

// rpc.py takes sizes in MiB and derives num_blocks from the block size.
uint64_t num_blocks(double total_size_mib, uint32_t block_size) {
    return static_cast<uint64_t>(std::llround(total_size_mib * 1024 * 1024)) / block_size;
}

void add_bdev_commands(CLI::App& app, Action& action) {
    struct Malloc {
        std::optional<std::string> name, uuid;
        double total_size = 0;
        uint32_t block_size = 0;
        std::optional<uint64_t> optimal_io_boundary;
    };
    auto m = std::make_shared<Malloc>();
    CLI::App* sub = method(app, action, "bdev_malloc_create", "create a RAM bdev", [m] {
        json p = {{"num_blocks", num_blocks(m->total_size, m->block_size)},
                  {"block_size", m->block_size}};
        put(p, "name", m->name);
        put(p, "uuid", m->uuid);
        put(p, "optimal_io_boundary", m->optimal_io_boundary);
        return p;
    });
    sub->add_option("total_size", m->total_size, "size in MiB")->required();
    sub->add_option("block_size", m->block_size, "block size in bytes")
        ->required()
        ->check(CLI::PositiveNumber);
    sub->add_option("-b,--name", m->name, "bdev name (default: MallocN)");
    sub->add_option("-u,--uuid", m->uuid, "UUID of the bdev");
    sub->add_option("-o,--optimal-io-boundary", m->optimal_io_boundary, "in blocks");

    struct Null {
        std::string name;
        std::optional<std::string> uuid;
        double total_size = 0;
        uint32_t block_size = 0;
    };
    auto n = std::make_shared<Null>();
    sub = method(app, action, "bdev_null_create", "create a bdev that discards writes", [n] {
        json p = {{"name", n->name},
                  {"num_blocks", num_blocks(n->total_size, n->block_size)},
                  {"block_size", n->block_size}};
        put(p, "uuid", n->uuid);
        return p;
    });
    sub->add_option("name", n->name, "bdev name")->required();
    sub->add_option("total_size", n->total_size, "size in MiB")->required();
    sub->add_option("block_size", n->block_size, "block size in bytes")
        ->required()
        ->check(CLI::PositiveNumber);
    sub->add_option("-u,--uuid", n->uuid, "UUID of the bdev");

    struct Uring {
        std::string filename, name;
        std::optional<uint32_t> block_size;
        std::optional<std::string> uuid;
    };
    auto u = std::make_shared<Uring>();
    sub =
        method(app, action, "bdev_uring_create", "create a bdev over a file or block device", [u] {
            json p = {{"filename", u->filename}, {"name", u->name}};
            put(p, "block_size", u->block_size);
            put(p, "uuid", u->uuid);
            return p;
        });
    sub->add_option("filename", u->filename, "path of the file or block device")->required();
    sub->add_option("name", u->name, "bdev name")->required();
    sub->add_option("block_size", u->block_size, "block size in bytes (default: the device's)");
    sub->add_option("-u,--uuid", u->uuid, "UUID of the bdev");

    struct Nbd {
        std::string name, uri;
        std::optional<std::string> uuid;
        std::optional<uint32_t> block_size, connections, io_timeout_ms;
    };
    auto nbd = std::make_shared<Nbd>();
    sub = method(app, action, "bdev_nbd_client_create", "create a bdev over an NBD export", [nbd] {
        json p = {{"name", nbd->name}, {"uri", nbd->uri}};
        put(p, "block_size", nbd->block_size);
        put(p, "connections", nbd->connections);
        put(p, "io_timeout_ms", nbd->io_timeout_ms);
        put(p, "uuid", nbd->uuid);
        return p;
    });
    sub->add_option("name", nbd->name, "bdev name")->required();
    sub->add_option("uri", nbd->uri, "nbd://HOST:PORT/EXPORT or nbd+unix:///EXPORT?socket=PATH")
        ->required();
    sub->add_option("-b,--block-size", nbd->block_size, "block size (default: the server's)");
    sub->add_option("-c,--connections", nbd->connections,
                    "most reactors with a connection (default: all)");
    sub->add_option("-t,--io-timeout-ms", nbd->io_timeout_ms, "request timeout (default 30000)");
    sub->add_option("-u,--uuid", nbd->uuid, "UUID of the bdev");

    for (const char* driver : {"malloc", "null", "uring", "nbd_client"}) {
        auto name = std::make_shared<std::string>();
        sub = method(app, action, fmt::format("bdev_{}_delete", driver),
                     fmt::format("delete a {} bdev", driver), [name] {
                         return json{{"name", *name}};
                     });
        sub->add_option("name", *name, "bdev name")->required();
    }

    struct Resize {
        std::string name;
        uint64_t new_size = 0;
    };
    auto r = std::make_shared<Resize>();
    sub = method(app, action, "bdev_null_resize", "grow a null bdev", [r] {
        return json{{"name", r->name}, {"new_size", r->new_size}};
    });
    sub->add_option("name", r->name, "bdev name")->required();
    sub->add_option("new_size", r->new_size, "new size in MiB")->required();
    auto rescan = std::make_shared<std::string>();
    sub =
        method(app, action, "bdev_uring_rescan", "pick up a uring bdev's new file size", [rescan] {
            return json{{"name", *rescan}};
        });
    sub->add_option("name", *rescan, "bdev name")->required();

    struct Get {
        std::optional<std::string> name;
        std::optional<uint64_t> timeout;
    };
    auto g = std::make_shared<Get>();
    sub = method(app, action, "bdev_get_bdevs", "list bdevs", [g] {
        json p = json::object();
        put(p, "name", g->name);
        put(p, "timeout", g->timeout);
        return p.empty() ? json() : p;
    });
    sub->add_option("-b,--name", g->name, "only this bdev");
    sub->add_option("-t,--timeout", g->timeout, "ms to wait for the bdev (accepted, unused)");

    struct Iostat {
        std::optional<std::string> name;
        bool per_channel = false;
    };
    auto s = std::make_shared<Iostat>();
    sub = method(app, action, "bdev_get_iostat", "I/O statistics of bdevs", [s] {
        json p = json::object();
        put(p, "name", s->name);
        if (s->per_channel) {
            p["per_channel"] = true;
        }
        return p.empty() ? json() : p;
    });
    sub->add_option("-b,--name", s->name, "only this bdev");
    sub->add_flag("-p,--per-channel", s->per_channel, "statistics per I/O channel");

    struct Qos {
        std::string name;
        std::optional<uint64_t> rw_ios, rw_mbytes, r_mbytes, w_mbytes;
    };
    auto q = std::make_shared<Qos>();
    sub = method(app, action, "bdev_set_qos_limit", "set QoS limits of a bdev (0 = no limit)", [q] {
        json p = {{"name", q->name}};
        put(p, "rw_ios_per_sec", q->rw_ios);
        put(p, "rw_mbytes_per_sec", q->rw_mbytes);
        put(p, "r_mbytes_per_sec", q->r_mbytes);
        put(p, "w_mbytes_per_sec", q->w_mbytes);
        return p;
    });
    sub->add_option("name", q->name, "bdev name")->required();
    sub->add_option("--rw_ios_per_sec,--rw-ios-per-sec", q->rw_ios, "read+write IOPS");
    sub->add_option("--rw_mbytes_per_sec,--rw-mbytes-per-sec", q->rw_mbytes, "read+write MB/s");
    sub->add_option("--r_mbytes_per_sec,--r-mbytes-per-sec", q->r_mbytes, "read MB/s");
    sub->add_option("--w_mbytes_per_sec,--w-mbytes-per-sec", q->w_mbytes, "write MB/s");
}

void add_vhost_commands(CLI::App& app, Action& action) {
    struct Create {
        std::string ctrlr, dev_name;
        std::optional<std::string> cpumask;
        bool readonly = false, packed_ring = false;
    };
    auto c = std::make_shared<Create>();
    CLI::App* sub = method(app, action, "vhost_create_blk_controller",
                           "create a vhost-user-blk controller over a bdev", [c] {
                               json p = {{"ctrlr", c->ctrlr}, {"dev_name", c->dev_name}};
                               put(p, "cpumask", c->cpumask);
                               if (c->readonly) {
                                   p["readonly"] = true;
                               }
                               if (c->packed_ring) {
                                   p["packed_ring"] = true;
                               }
                               return p;
                           });
    sub->add_option("ctrlr", c->ctrlr, "controller name (its socket file name)")->required();
    sub->add_option("dev_name", c->dev_name, "bdev to serve")->required();
    sub->add_option("--cpumask", c->cpumask, "reactors serving its queues, e.g. 0x1");
    sub->add_flag("-r,--readonly", c->readonly, "read-only device");
    sub->add_flag("-p,--packed_ring", c->packed_ring, "packed virtqueues");

    auto ctrlr = std::make_shared<std::string>();
    sub = method(app, action, "vhost_delete_controller",
                 "delete a controller (refused while a frontend is attached)", [ctrlr] {
                     return json{{"ctrlr", *ctrlr}};
                 });
    sub->add_option("ctrlr", *ctrlr, "controller name")->required();

    auto name = std::make_shared<std::optional<std::string>>();
    sub = method(app, action, "vhost_get_controllers", "list vhost controllers", [name] {
        return *name ? json{{"name", **name}} : json();
    });
    sub->add_option("-n,--name", *name, "only this controller");

    struct Coalescing {
        std::string ctrlr;
        uint32_t delay_base_us = 0, iops_threshold = 0;
    };
    auto k = std::make_shared<Coalescing>();
    sub = method(app, action, "vhost_controller_set_coalescing",
                 "interrupt coalescing of a controller (delay 0 = off)", [k] {
                     return json{{"ctrlr", k->ctrlr},
                                 {"delay_base_us", k->delay_base_us},
                                 {"iops_threshold", k->iops_threshold}};
                 });
    sub->add_option("ctrlr", k->ctrlr, "controller name")->required();
    sub->add_option("delay_base_us", k->delay_base_us, "base delay in microseconds")->required();
    sub->add_option("iops_threshold", k->iops_threshold, "IOPS above which to coalesce")
        ->required();
}

// virtio-scsi controllers and hot-plug of their targets.
void add_scsi_commands(CLI::App& app, Action& action) {
    struct Create {
        std::string ctrlr;
        std::optional<std::string> cpumask;
        bool packed_ring = false;
    };
    auto c = std::make_shared<Create>();
    CLI::App* sub = method(app, action, "vhost_create_scsi_controller",
                           "create a vhost-user-scsi controller (targets are added later)", [c] {
                               json p = {{"ctrlr", c->ctrlr}};
                               put(p, "cpumask", c->cpumask);
                               if (c->packed_ring) {
                                   p["packed_ring"] = true;
                               }
                               return p;
                           });
    sub->add_option("ctrlr", c->ctrlr, "controller name (its socket file name)")->required();
    sub->add_option("--cpumask", c->cpumask, "reactors serving its queues, e.g. 0x1");
    sub->add_flag("-p,--packed_ring", c->packed_ring, "packed virtqueues");

    struct Target {
        std::string ctrlr, bdev_name;
        int32_t scsi_target_num = -1;
    };
    auto t = std::make_shared<Target>();
    sub = method(app, action, "vhost_scsi_controller_add_target",
                 "add a SCSI target (LUN 0 over a bdev); prints its number", [t] {
                     return json{{"ctrlr", t->ctrlr},
                                 {"scsi_target_num", t->scsi_target_num},
                                 {"bdev_name", t->bdev_name}};
                 });
    sub->add_option("ctrlr", t->ctrlr, "controller name")->required();
    sub->add_option("scsi_target_num", t->scsi_target_num, "0-255, or -1 for the first free one")
        ->required();
    sub->add_option("bdev_name", t->bdev_name, "bdev to serve")->required();

    auto r = std::make_shared<Target>();
    sub = method(app, action, "vhost_scsi_controller_remove_target",
                 "remove a SCSI target (in-flight commands complete first)", [r] {
                     return json{{"ctrlr", r->ctrlr}, {"scsi_target_num", r->scsi_target_num}};
                 });
    sub->add_option("ctrlr", r->ctrlr, "controller name")->required();
    sub->add_option("scsi_target_num", r->scsi_target_num, "target number")->required();
}

void add_app_commands(CLI::App& app, Action& action) {
    struct Methods {
        bool current = false, include_aliases = false;
    };
    auto m = std::make_shared<Methods>();
    CLI::App* sub = method(app, action, "rpc_get_methods", "list the server's methods", [m] {
        json p = json::object();
        if (m->current) {
            p["current"] = true;
        }
        if (m->include_aliases) {
            p["include_aliases"] = true;
        }
        return p.empty() ? json() : p;
    });
    sub->add_flag("--current", m->current, "only methods callable now");
    sub->add_flag("-i,--include-aliases", m->include_aliases, "include deprecated aliases");

    method(app, action, "spdk_get_version", "version of the server");
    method(app, action, "framework_get_reactors", "reactors and what runs on them");
    method(app, action, "framework_get_subsystems", "subsystems in save_config order");
    struct GetConfig {
        std::string name;
        bool with_batches = false;
    };
    auto get_config = std::make_shared<GetConfig>();
    sub = method(app, action, "framework_get_config", "the config calls of one subsystem",
                 [get_config] {
                     json p{{"name", get_config->name}};
                     if (get_config->with_batches) {
                         p["with_batches"] = true;
                     }
                     return p;
                 });
    sub->add_option("name", get_config->name, "subsystem, e.g. bdev or vhost_blk")->required();
    sub->add_flag("--with-batches", get_config->with_batches, "keep batch arrays (rpc.py's flag)");
    method(app, action, "save_config", "the config that recreates the current setup (-c)");

    for (const char* name : {"log_set_level", "log_set_print_level"}) {
        auto level = std::make_shared<std::string>();
        sub = method(app, action, name, "ERROR, WARNING, NOTICE, INFO or DEBUG", [level] {
            return json{{"level", *level}};
        });
        sub->add_option("level", *level, "log level")->required();
    }
    method(app, action, "log_get_level", "current log level");
    method(app, action, "log_get_print_level", "current print level");
    for (const char* name : {"log_set_flag", "log_clear_flag"}) {
        auto flag = std::make_shared<std::string>();
        sub = method(app, action, name, "debug logging of one component on/off", [flag] {
            return json{{"flag", *flag}};
        });
        sub->add_option("flag", *flag, "component, e.g. rpc or vhost_user")->required();
    }
    method(app, action, "log_get_flags", "components logging at DEBUG");
}

}  // namespace

std::optional<RpcClient> connect(const Global& global) {
    auto client = RpcClient::connect(
        global.socket, std::chrono::milliseconds(static_cast<int64_t>(global.timeout_s * 1000)));
    if (!client) {
        fmt::print(stderr, "vhostctl: {}\n", client.error().message);
        return std::nullopt;
    }
    return std::move(*client);
}

void add_method_commands(CLI::App& app, Action& action) {
    add_bdev_commands(app, action);
    add_vhost_commands(app, action);
    add_scsi_commands(app, action);
    add_app_commands(app, action);
    add_fault_commands(app, action);
    add_rbd_commands(app, action);
    add_nvmf_commands(app, action);
}

}  // namespace vhostctl

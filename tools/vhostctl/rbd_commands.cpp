// Subcommands of the Ceph RBD bdevs, with rpc.py's arguments: bdev_rbd_register_cluster,
// bdev_rbd_unregister_cluster, bdev_rbd_get_clusters_info, bdev_rbd_create, bdev_rbd_delete,
// bdev_rbd_resize; plus vhostd's --io-timeout-ms on register_cluster and create.
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "method_command.hpp"

namespace vhostctl {
namespace {

using nlohmann::json;

// rpc.py's repeated "--config key=value" (checked by key_value below): an object of Ceph
// options.
std::optional<json> options_object(const std::vector<std::string>& entries) {
    if (entries.empty()) {
        return std::nullopt;
    }
    json out = json::object();
    for (const auto& entry : entries) {
        const auto eq = entry.find('=');
        out[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    return out;
}

std::string key_value(const std::string& entry) {
    const auto eq = entry.find('=');
    return eq == std::string::npos || eq == 0 ? fmt::format("{} is not in key=value form", entry)
                                              : std::string();
}

}  // namespace

void add_rbd_commands(CLI::App& app, Action& action) {
    struct Cluster {
        std::string name;
        std::optional<std::string> user_id, config_file, key_file, core_mask;
        std::vector<std::string> config_param;
        std::optional<uint32_t> io_timeout_ms;
    };
    auto c = std::make_shared<Cluster>();
    CLI::App* sub = method(app, action, "bdev_rbd_register_cluster",
                           "connect to a Ceph cluster that RBD bdevs can share", [c] {
                               json p = {{"name", c->name}};
                               put(p, "user_id", c->user_id);
                               put(p, "config_param", options_object(c->config_param));
                               put(p, "config_file", c->config_file);
                               put(p, "key_file", c->key_file);
                               put(p, "core_mask", c->core_mask);
                               put(p, "io_timeout_ms", c->io_timeout_ms);
                               return p;
                           });
    sub->add_option("name", c->name, "name the bdevs use for the cluster")->required();
    sub->add_option("--user", c->user_id, "Ceph user (admin, not client.admin)");
    sub->add_option("--config-param", c->config_param, "a Ceph option, key=value (repeatable)")
        ->check(key_value);
    sub->add_option("--config-file", c->config_file, "Ceph config file");
    sub->add_option("--key-file", c->key_file, "Ceph keyring file");
    sub->add_option("--core-mask", c->core_mask, "accepted and ignored");
    sub->add_option("--io-timeout-ms", c->io_timeout_ms,
                    "librados' connect and operation timeouts (default 30000)");

    auto unregister = std::make_shared<std::string>();
    sub = method(app, action, "bdev_rbd_unregister_cluster", "forget an unused cluster",
                 [unregister] {
                     return json{{"name", *unregister}};
                 });
    sub->add_option("name", *unregister, "cluster name")->required();

    auto info = std::make_shared<std::optional<std::string>>();
    sub = method(app, action, "bdev_rbd_get_clusters_info", "list registered clusters", [info] {
        json p = json::object();
        put(p, "name", *info);
        return p.empty() ? json(nullptr) : p;
    });
    sub->add_option("-b,--name", *info, "one cluster");

    struct Create {
        std::optional<std::string> name, user_id, cluster_name, uuid;
        std::vector<std::string> config;
        std::string pool_name, rbd_name;
        uint32_t block_size = 0;
        bool read_only = false;
        std::optional<uint32_t> io_timeout_ms;
    };
    auto r = std::make_shared<Create>();
    sub = method(app, action, "bdev_rbd_create", "create a bdev over a Ceph RBD image", [r] {
        json p = {
            {"pool_name", r->pool_name}, {"rbd_name", r->rbd_name}, {"block_size", r->block_size}};
        put(p, "name", r->name);
        put(p, "user_id", r->user_id);
        put(p, "config", options_object(r->config));
        put(p, "cluster_name", r->cluster_name);
        put(p, "uuid", r->uuid);
        if (r->read_only) {
            p["read_only"] = true;
        }
        put(p, "io_timeout_ms", r->io_timeout_ms);
        return p;
    });
    sub->add_option("pool_name", r->pool_name, "pool")->required();
    sub->add_option("rbd_name", r->rbd_name, "image")->required();
    sub->add_option("block_size", r->block_size, "block size in bytes")
        ->required()
        ->check(CLI::PositiveNumber);
    sub->add_option("-b,--name", r->name, "bdev name (default: CephN)");
    sub->add_option("--user", r->user_id, "Ceph user (admin, not client.admin)");
    sub->add_option("--config", r->config,
                    "a Ceph option, key=value (repeatable; default: the config file)")
        ->check(key_value);
    sub->add_option("-c,--cluster-name", r->cluster_name, "a registered cluster");
    sub->add_option("-u,--uuid", r->uuid, "UUID of the bdev");
    sub->add_flag("-r,--readonly", r->read_only, "read-only bdev");
    sub->add_option("-t,--io-timeout-ms", r->io_timeout_ms, "request timeout (default 30000)");

    auto deleted = std::make_shared<std::string>();
    sub = method(app, action, "bdev_rbd_delete", "delete an RBD bdev", [deleted] {
        return json{{"name", *deleted}};
    });
    sub->add_option("name", *deleted, "bdev name")->required();

    struct Resize {
        std::string name;
        uint64_t new_size = 0;
    };
    auto s = std::make_shared<Resize>();
    sub = method(app, action, "bdev_rbd_resize", "grow an RBD bdev and its image", [s] {
        return json{{"name", s->name}, {"new_size", s->new_size}};
    });
    sub->add_option("name", s->name, "bdev name")->required();
    sub->add_option("new_size", s->new_size, "new size in MiB")->required();
}

}  // namespace vhostctl

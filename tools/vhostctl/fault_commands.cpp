// Subcommands of the fault-injecting bdevs, with rpc.py's arguments: bdev_delay_create,
// bdev_delay_delete, bdev_delay_update_latency, bdev_error_create, bdev_error_delete,
// bdev_error_inject_error, bdev_error_resume_pending; and vhostd's bdev_error_set_state.
#include <memory>

#include <fmt/format.h>

#include "method_command.hpp"

namespace vhostctl {

using nlohmann::json;

void add_fault_commands(CLI::App& app, Action& action) {
    struct Delay {
        std::string base, name;
        std::optional<std::string> uuid;
        uint64_t avg_read = 0, p99_read = 0, avg_write = 0, p99_write = 0;
    };
    auto d = std::make_shared<Delay>();
    CLI::App* sub = method(app, action, "bdev_delay_create", "add a delay bdev over a bdev", [d] {
        json p = {{"base_bdev_name", d->base},         {"name", d->name},
                  {"avg_read_latency", d->avg_read},   {"p99_read_latency", d->p99_read},
                  {"avg_write_latency", d->avg_write}, {"p99_write_latency", d->p99_write}};
        put(p, "uuid", d->uuid);
        return p;
    });
    sub->add_option("-b,--base-bdev-name", d->base, "the bdev to delay")->required();
    sub->add_option("-d,--name", d->name, "name of the delay bdev")->required();
    sub->add_option("-u,--uuid", d->uuid, "UUID of the bdev");
    sub->add_option("-r,--avg-read-latency", d->avg_read, "microseconds")->required();
    sub->add_option("-t,--nine-nine-read-latency", d->p99_read, "microseconds")->required();
    sub->add_option("-w,--avg-write-latency", d->avg_write, "microseconds")->required();
    sub->add_option("-n,--nine-nine-write-latency", d->p99_write, "microseconds")->required();

    struct Update {
        std::string name, type;
        uint64_t latency = 0;
    };
    auto u = std::make_shared<Update>();
    sub =
        method(app, action, "bdev_delay_update_latency", "change one latency of a delay bdev", [u] {
            return json{{"delay_bdev_name", u->name},
                        {"latency_type", u->type},
                        {"latency_us", u->latency}};
        });
    sub->add_option("delay_bdev_name", u->name, "the delay bdev")->required();
    sub->add_option("latency_type", u->type, "avg_read, avg_write, p99_read or p99_write")
        ->required()
        ->check(CLI::IsMember({"avg_read", "avg_write", "p99_read", "p99_write"}));
    sub->add_option("latency_us", u->latency, "microseconds")->required();

    struct Create {
        std::string base;
        std::optional<std::string> uuid;
    };
    auto c = std::make_shared<Create>();
    sub = method(app, action, "bdev_error_create", "add an error-injection bdev EE_<base>", [c] {
        json p = {{"base_name", c->base}};
        put(p, "uuid", c->uuid);
        return p;
    });
    sub->add_option("base_name", c->base, "the base bdev")->required();
    sub->add_option("--uuid", c->uuid, "UUID of the bdev");

    for (const char* driver : {"delay", "error"}) {
        auto name = std::make_shared<std::string>();
        sub = method(app, action, fmt::format("bdev_{}_delete", driver),
                     fmt::format("delete a {} bdev", driver), [name] {
                         return json{{"name", *name}};
                     });
        sub->add_option("name", *name, "bdev name")->required();
    }

    struct Inject {
        std::string name, io_type, error_type;
        std::optional<uint64_t> num, queue_depth, corrupt_offset, corrupt_value;
    };
    auto i = std::make_shared<Inject>();
    sub = method(app, action, "bdev_error_inject_error", "inject errors into an error bdev", [i] {
        json p = {{"name", i->name}, {"io_type", i->io_type}, {"error_type", i->error_type}};
        put(p, "num", i->num);
        put(p, "queue_depth", i->queue_depth);
        put(p, "corrupt_offset", i->corrupt_offset);
        put(p, "corrupt_value", i->corrupt_value);
        return p;
    });
    sub->add_option("name", i->name, "the error bdev")->required();
    sub->add_option("io_type", i->io_type, "clear, read, write, unmap, flush or all")
        ->required()
        ->check(CLI::IsMember({"clear", "read", "write", "unmap", "flush", "all"}));
    sub->add_option("error_type", i->error_type, "failure, pending or corrupt_data")->required();
    sub->add_option("-n,--num", i->num, "how many commands to fail (default 1)");
    sub->add_option("-q,--queue-depth", i->queue_depth, "only at this queue depth or above");
    sub->add_option("-o,--corrupt-offset", i->corrupt_offset, "byte to corrupt");
    sub->add_option("-v,--corrupt-value", i->corrupt_value, "XOR value (1-255)");

    auto resume = std::make_shared<std::string>();
    sub = method(app, action, "bdev_error_resume_pending", "release the requests held pending",
                 [resume] {
                     return json{{"name", *resume}};
                 });
    sub->add_option("name", *resume, "the error bdev")->required();

    struct State {
        std::string name, state;
    };
    auto s = std::make_shared<State>();
    sub = method(app, action, "bdev_error_set_state",
                 "make an error bdev report itself failed, online again, or hot-removed", [s] {
                     return json{{"name", s->name}, {"state", s->state}};
                 });
    sub->add_option("name", s->name, "the error bdev")->required();
    sub->add_option("state", s->state, "failed, online or removed")
        ->required()
        ->check(CLI::IsMember({"failed", "online", "removed"}));
}

}  // namespace vhostctl

// ConfigRegistry: the subsystems of save_config ("bdev", "vhost_blk", ...), each with the
// function that writes the calls recreating its objects. Layers register their subsystem when
// their methods are registered; the order of registration is the order a config is replayed
// in, so a subsystem comes after those it depends on. Control reactor only.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rpc/method_table.hpp"

namespace vhostd::rpc {

class ConfigRegistry {
  public:
    // The {"method", "params"} calls that recreate the subsystem's objects, in creation order.
    using Writer = std::function<nlohmann::json()>;

    struct Subsystem {
        std::string name;
        std::vector<std::string> depends_on;
        Writer writer;
    };

    // A subsystem registered twice keeps its first place and gains the second writer's calls
    // after the first's (two controller kinds may share a subsystem).
    void add(std::string name, std::vector<std::string> depends_on, Writer writer);

    [[nodiscard]] const std::vector<Subsystem>& subsystems() const { return subsystems_; }
    [[nodiscard]] const Subsystem* find(std::string_view name) const;
    // The calls of `subsystem`.
    [[nodiscard]] nlohmann::json config(const Subsystem& subsystem) const;

  private:
    std::vector<Subsystem> subsystems_;
};

// save_config and the methods rpc.py's save_config uses (framework_get_subsystems,
// framework_get_config), over `registry` (which must outlive the table).
void register_config_methods(MethodTable& table, const ConfigRegistry& registry);

// SPDK tuning methods that have no meaning for vhostd (accepted with a log line, so that
// configs written by SPDK load).
void register_compat_methods(MethodTable& table);

}  // namespace vhostd::rpc

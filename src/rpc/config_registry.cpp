// ConfigRegistry: subsystem bookkeeping.
#include "rpc/config_registry.hpp"

#include <algorithm>

namespace vhostd::rpc {

void ConfigRegistry::add(std::string name, std::vector<std::string> depends_on, Writer writer) {
    auto it = std::find_if(subsystems_.begin(), subsystems_.end(),
                           [&](const Subsystem& s) { return s.name == name; });
    if (it == subsystems_.end()) {
        subsystems_.push_back(Subsystem{std::move(name), std::move(depends_on), std::move(writer)});
        return;
    }
    for (std::string& dep : depends_on) {
        if (std::find(it->depends_on.begin(), it->depends_on.end(), dep) == it->depends_on.end()) {
            it->depends_on.push_back(std::move(dep));
        }
    }
    it->writer = [first = std::move(it->writer), second = std::move(writer)] {
        nlohmann::json calls = first();
        for (auto& call : second()) {
            calls.push_back(std::move(call));
        }
        return calls;
    };
}

const ConfigRegistry::Subsystem* ConfigRegistry::find(std::string_view name) const {
    auto it = std::find_if(subsystems_.begin(), subsystems_.end(),
                           [&](const Subsystem& s) { return s.name == name; });
    return it == subsystems_.end() ? nullptr : &*it;
}

nlohmann::json ConfigRegistry::config(const Subsystem& subsystem) const {
    return subsystem.writer ? subsystem.writer() : nlohmann::json::array();
}

}  // namespace vhostd::rpc

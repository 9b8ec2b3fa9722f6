// Method subcommands: one call, the result printed, errors on stderr.
#include "method_command.hpp"

#include <fmt/format.h>

namespace vhostctl {

using nlohmann::json;

void print_result(const json& result) {
    if (result.is_string()) {
        fmt::print("{}\n", result.get<std::string>());
    } else {
        fmt::print("{}\n", result.dump(2));
    }
}

CLI::App* method(CLI::App& app, Action& action, const std::string& name, const std::string& help,
                 ParamsFn params) {
    CLI::App* sub = app.add_subcommand(name, help);
    sub->callback([&action, name, params = std::move(params)] {
        action = [name, params](const Global& global) {
            auto client = connect(global);
            if (!client) {
                return 1;
            }
            auto result = client->call(name, params ? params() : json());
            if (!result) {
                const CallError& e = result.error();
                if (e.code != 0) {
                    fmt::print(stderr, "vhostctl: {}: {} (code {})\n", name, e.message, e.code);
                } else {
                    fmt::print(stderr, "vhostctl: {}: {}\n", name, e.message);
                }
                return 1;
            }
            print_result(*result);
            return 0;
        };
    });
    return sub;
}

}  // namespace vhostctl

// vhostd entry point: options, start-up errors as one line with exit code 2, then serve.
#include <fmt/format.h>

#include "app/daemon.hpp"
#include "app/options.hpp"

int main(int argc, char** argv) {
    auto parsed = vhostd::app::parse_options(argc, argv);
    if (const int* code = std::get_if<int>(&parsed)) {
        return *code;
    }
    auto daemon = vhostd::app::Daemon::create(std::get<vhostd::app::Options>(parsed));
    if (!daemon) {
        fmt::print(stderr, "vhostd: {}\n", daemon.error().message);
        return 2;
    }
    return (*daemon)->run();
}

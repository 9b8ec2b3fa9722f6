// ControllerRegistry: the controllers of the process by name, in creation order (the order
// save_config recreates them in). Deleting one is refused while a frontend is attached and
// finishes once its queues have drained. Control reactor only.
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "controller/controller.hpp"

namespace vhostd::controller {

// SPDK uses the controller name as a file name under the socket directory: 1 to 64 of the
// characters of portable file names and bdev names (letters, digits and "._:-"), not starting
// with '.' or '-'. Nothing that needs quoting in a path, a log line or a shell.
Result<void> check_controller_name(std::string_view name);

class ControllerRegistry {
  public:
    // EEXIST if the name is taken.
    Result<Controller*> add(std::unique_ptr<Controller> controller);
    [[nodiscard]] Controller* find(std::string_view name) const;
    [[nodiscard]] std::vector<Controller*> list() const;
    [[nodiscard]] size_t size() const { return controllers_.size(); }

    // Shuts the controller down, releases what it holds and destroys it; ENODEV if unknown,
    // EBUSY while a frontend is attached. `done` runs on the control reactor.
    void remove(std::string_view name, std::move_only_function<void(Result<void>)> done);
    // Shuts every controller down (SIGTERM): stop accepting, drain, remove sockets.
    void shutdown_all(std::move_only_function<void()> done);

  private:
    std::vector<std::unique_ptr<Controller>> controllers_;
};

}  // namespace vhostd::controller

// ControllerRegistry: names, deletion after drain, shutdown of all.
#include "controller/controller_registry.hpp"

#include <algorithm>
#include <memory>

namespace vhostd::controller {

Result<void> check_controller_name(std::string_view name) {
    constexpr size_t kMaxLength = 64;
    auto allowed = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == ':' || c == '-';
    };
    if (name.empty() || name.size() > kMaxLength || name.front() == '.' || name.front() == '-' ||
        !std::all_of(name.begin(), name.end(), allowed)) {
        // The name itself is not echoed in full: it may hold control characters.
        return make_error(EINVAL,
                          "invalid controller name: 1-{} letters, digits and . _ : -, not "
                          "starting with . or -",
                          kMaxLength);
    }
    return {};
}

Result<Controller*> ControllerRegistry::add(std::unique_ptr<Controller> controller) {
    if (find(controller->name()) != nullptr) {
        return make_error(EEXIST, "{} controller {} already exists", controller->family(),
                          controller->name());
    }
    controllers_.push_back(std::move(controller));
    return controllers_.back().get();
}

Controller* ControllerRegistry::find(std::string_view name) const {
    auto it = std::find_if(controllers_.begin(), controllers_.end(),
                           [&](const auto& c) { return c->name() == name; });
    return it == controllers_.end() ? nullptr : it->get();
}

std::vector<Controller*> ControllerRegistry::list() const {
    std::vector<Controller*> out;
    out.reserve(controllers_.size());
    for (const auto& c : controllers_) {
        out.push_back(c.get());
    }
    return out;
}

void ControllerRegistry::remove(std::string_view name,
                                std::move_only_function<void(Result<void>)> done) {
    Controller* controller = find(name);
    if (controller == nullptr) {
        done(make_error(ENODEV, "controller {} not found", name));
        return;
    }
    if (controller->in_use()) {
        done(make_error(EBUSY, "{} controller {} is in use by a connected frontend",
                        controller->family(), name));
        return;
    }
    controller->shutdown([this, controller, done = std::move(done)]() mutable {
        // The controller may hold this very callback: everything it captured is moved to the
        // stack before the controller (and with it the callback) is destroyed.
        auto finish = std::move(done);
        auto& controllers = controllers_;
        auto it = std::find_if(controllers.begin(), controllers.end(),
                               [&](const auto& c) { return c.get() == controller; });
        std::unique_ptr<Controller> removed;
        if (it != controllers.end()) {
            removed = std::move(*it);
            controllers.erase(it);
            removed->release();
        }
        removed.reset();
        finish({});
    });
}

void ControllerRegistry::shutdown_all(std::move_only_function<void()> done) {
    if (controllers_.empty()) {
        done();
        return;
    }
    auto remaining = std::make_shared<size_t>(controllers_.size());
    auto shared_done = std::make_shared<std::move_only_function<void()>>(std::move(done));
    for (auto& controller : controllers_) {
        controller->shutdown([remaining, shared_done] {
            if (--*remaining == 0) {
                (*shared_done)();
            }
        });
    }
}

}  // namespace vhostd::controller

// BdevRegistry: the control thread's table of bdevs by name, and who holds each one. A holder
// (a vhost controller) claims a bdev for exclusive use; a claimed bdev cannot be removed.
// Not thread-safe by design: only the control reactor touches it. I/O reactors get the
// shared_ptr<Bdev> they need when a controller starts and never look the registry up.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/error.hpp"
#include "block/bdev.hpp"

namespace vhostd::block {

class BdevRegistry {
  public:
    // Fails if the name breaks the naming rules (check_bdev_name) or if the name or UUID is
    // already registered (both identify a bdev in SPDK's RPCs).
    Result<void> add(std::shared_ptr<Bdev> bdev);

    // By name, or by UUID as SPDK accepts in place of a name; nullptr if unknown.
    [[nodiscard]] std::shared_ptr<Bdev> find(std::string_view name_or_uuid) const;

    // Unregisters and returns the bdev; refuses while it is claimed. Channels already created
    // keep the backend's storage alive until they are destroyed.
    Result<std::shared_ptr<Bdev>> remove(std::string_view name);

    // Every bdev, in registration order (the order save_config must recreate them in).
    [[nodiscard]] std::vector<std::shared_ptr<Bdev>> list() const;

    // Exclusive claim by `holder` (e.g. "vhost controller vhost.0").
    Result<void> claim(std::string_view bdev_name, std::string holder);
    // Drops `holder`'s claim; fails if the bdev is unknown or held by someone else.
    Result<void> release(std::string_view bdev_name, std::string_view holder);
    // The holder's description, or nullptr when unclaimed or unknown.
    [[nodiscard]] const std::string* claimed_by(std::string_view bdev_name) const;

    [[nodiscard]] size_t size() const { return entries_.size(); }

    // save_config: calls a module writes ahead of every bdev in the "bdev" subsystem, for
    // objects its bdevs refer to (SPDK's bdev_rbd_register_cluster), in registration order.
    using ConfigPrelude = std::function<nlohmann::json()>;
    void add_config_prelude(ConfigPrelude writer) { preludes_.push_back(std::move(writer)); }
    [[nodiscard]] const std::vector<ConfigPrelude>& config_preludes() const { return preludes_; }

  private:
    struct Entry {
        std::shared_ptr<Bdev> bdev;
        std::string holder;  // empty while unclaimed
    };

    Entry* entry(std::string_view name);
    const Entry* entry(std::string_view name) const;

    std::vector<Entry> entries_;
    std::vector<ConfigPrelude> preludes_;  // a handful of bdevs: a linear scan beats a map here
};

}  // namespace vhostd::block

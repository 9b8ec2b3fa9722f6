// The backend module contract (SPDK's bdev_module.h): what a backend implements to provide
// bdevs, and what the bdev layer offers it in return. Only the bdev layer and the backends
// under block/backends/ include this header (the layer check enforces it); devices see bdevs
// through block/bdev.hpp alone.
//
// A backend provides:
//  - a BdevBackend per bdev (channels, description, its own state), handed to make_bdev();
//  - a BackendChannel per reactor: submit() and completions on that reactor, never inline;
//  - its RPC methods and a registration function called from app (see DEVELOPERS.md).
// It may use: the request scratch area (scratch()), resize and health events
// (BdevModuleAccess), and for completions that arrive on foreign threads a reactor::Mailbox.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "block/bdev.hpp"
#include "block/io_request.hpp"
#include "reactor/reactor.hpp"

namespace vhostd::block {

// The bdev layer's and the backend's bookkeeping inside a request (see io_request.hpp).
inline detail::IoScratchFields& scratch(IoRequest& request) noexcept {
    return request.scratch_area.fields_;
}

// One backend's submission path on one reactor; the bdev layer's channel (statistics, QoS,
// health) wraps it. Same threading and drain rules as IoChannel. Requests arrive already
// checked against the bdev's geometry by the device; backends check again (request_check.hpp)
// because nothing may touch memory or a file out of range.
class BackendChannel {
  public:
    virtual ~BackendChannel() = default;
    virtual void submit(IoRequest& request) noexcept = 0;
};

using BackendChannelOpened = std::move_only_function<void(Result<std::unique_ptr<BackendChannel>>)>;

// One bdev as its backend sees it. Owned by the Bdev (make_bdev); destroyed on the control
// reactor after the last channel and the last user have let go.
class BdevBackend {
  public:
    virtual ~BdevBackend() = default;

    // The module name: the <driver> of bdev_<driver>_create and of "driver_specific".
    [[nodiscard]] virtual std::string_view driver() const = 0;

    // Opens a channel on `reactor` (on its thread). `done` runs on that thread, inline or
    // later. The default calls create_channel() and completes inline.
    virtual void open_channel(reactor::Reactor& reactor, BackendChannelOpened done);
    // For backends that open at once.
    virtual Result<std::unique_ptr<BackendChannel>> create_channel(reactor::Reactor& reactor);

    // The parameters of bdev_<driver>_create that recreate this bdev exactly (uuid included).
    [[nodiscard]] virtual nlohmann::json describe() const = 0;
    // The calls that recreate the bdev; the default is bdev_<driver>_create with describe().
    [[nodiscard]] virtual nlohmann::json config_calls() const;
    // Run-time state worth showing in bdev_get_bdevs (a remote backend's connections and
    // counters); null for none. Control reactor; counters read from any thread are atomics.
    [[nodiscard]] virtual nlohmann::json status() const { return nullptr; }

    // The bdev this backend provides (valid once make_bdev() returned).
    [[nodiscard]] Bdev& bdev() const { return *bdev_; }

  private:
    friend class BdevModuleAccess;
    Bdev* bdev_ = nullptr;
};

// What a backend states about a new bdev.
struct BdevInit {
    std::string name;
    std::string product;  // "Malloc disk"
    uint32_t block_size = 512;
    uint64_t num_blocks = 0;
    Capabilities caps;
    std::string uuid;  // empty: generate one
};

// Checks the name (check_bdev_name), the geometry and the uuid, and creates the bdev.
[[nodiscard]] Result<std::shared_ptr<Bdev>> make_bdev(BdevInit init,
                                                      std::unique_ptr<BdevBackend> backend);

// The name, geometry and uuid as bdev_<driver>_create takes them: {"name", "num_blocks",
// "block_size", "uuid"}; backends add their own parameters.
[[nodiscard]] nlohmann::json geometry_params(const Bdev& bdev);

// What backends may do to their bdev beyond the user-visible API.
class BdevModuleAccess {
  public:
    // Control reactor, once the storage has the new size: publishes it to the channels and
    // sends `resized` to the users. A no-op when the size is unchanged.
    static void set_num_blocks(Bdev& bdev, uint64_t num_blocks) { bdev.set_num_blocks(num_blocks); }
    // Control reactor: failed / recovered / removed change state() and tell the users.
    static void report(Bdev& bdev, BdevEvent event) { bdev.report(event); }
    // The backend of `bdev` if it is a T (a module's own RPCs on its own bdevs), else nullptr.
    template <class T>
    static T* backend(Bdev& bdev) {
        return dynamic_cast<T*>(bdev.backend_.get());
    }
    static BdevBackend& backend_of(Bdev& bdev) { return *bdev.backend_; }

  private:
    friend Result<std::shared_ptr<Bdev>> make_bdev(BdevInit, std::unique_ptr<BdevBackend>);
    static std::shared_ptr<Bdev> create(BdevInit init, std::unique_ptr<BdevBackend> backend);
};

}  // namespace vhostd::block

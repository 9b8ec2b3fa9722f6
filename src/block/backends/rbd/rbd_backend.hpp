// RbdBackend: one RBD bdev as the bdev layer sees it: its channels, its description (SPDK's
// bdev_rbd_create parameters), its run-time state, and the image jobs that may block (size
// refresh when another client resizes the image, resize, close), run one at a time on workers.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "block/backends/rbd/rados_cluster.hpp"
#include "block/backends/rbd/rbd_image_state.hpp"
#include "block/backends/rbd/rbd_module.hpp"
#include "block/module/bdev_module.hpp"

namespace vhostd::block {

class RbdBackend final : public BdevBackend {
  public:
    RbdBackend(std::shared_ptr<RbdContext> context, std::shared_ptr<RadosCluster> cluster,
               RbdParams params, std::shared_ptr<RbdImageState> state, uint64_t watch_id);
    // Closes the image on a worker (after any image job still running), then lets go of the
    // cluster.
    ~RbdBackend() override;

    [[nodiscard]] std::string_view driver() const override { return "rbd"; }
    Result<std::unique_ptr<BackendChannel>> create_channel(reactor::Reactor& reactor) override;
    [[nodiscard]] nlohmann::json describe() const override;
    [[nodiscard]] nlohmann::json status() const override;

    // Control reactor, once make_bdev() returned: resize events reach the bdev from here on.
    void attach();
    // Reads the image size again (on a worker) and resizes the bdev to the blocks it holds.
    void refresh_size();
    // Grows the image to `bytes`, then the bdev.
    void resize(uint64_t bytes, RbdModule::Done<void> done);

    [[nodiscard]] const RbdParams& params() const { return params_; }

  private:
    static void retry_refresh_later(const std::shared_ptr<RbdImageState>& state);

    std::shared_ptr<RbdContext> context_;
    std::shared_ptr<RadosCluster> cluster_;
    RbdParams params_;
    std::shared_ptr<RbdImageState> state_;
    uint64_t watch_id_;
};

// Runs a blocking job on `state`'s image after the ones already running (control reactor).
void run_image_job(const std::shared_ptr<RbdContext>& context,
                   const std::shared_ptr<RbdImageState>& state, std::move_only_function<void()> job,
                   std::move_only_function<void()> done);

// Unwatches and closes `image` on a worker, then lets go of `cluster` (and of its connection
// if that was the last user).
void close_rbd_image(const std::shared_ptr<RbdContext>& context, RbdImage* image, uint64_t watch_id,
                     std::shared_ptr<RadosCluster> cluster);

}  // namespace vhostd::block

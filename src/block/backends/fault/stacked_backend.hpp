// StackedBackend: what the delay and error bdevs share as backends: the base bdev they hold
// (and claim), and channels opened over the base's channel on the same reactor.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "block/bdev.hpp"
#include "block/bdev_registry.hpp"
#include "block/module/bdev_module.hpp"

namespace vhostd::block {

class StackedBackend : public BdevBackend {
  public:
    explicit StackedBackend(std::shared_ptr<Bdev> base) : base_(std::move(base)) {}

    void open_channel(reactor::Reactor& reactor, BackendChannelOpened done) final {
        // The base may open asynchronously too: ours is ready when the base's is.
        block::open_channel(*base_, reactor,
                            [this, &reactor, done = std::move(done)](
                                Result<std::unique_ptr<IoChannel>> base) mutable {
                                if (!base) {
                                    done(std::unexpected(std::move(base).error()));
                                    return;
                                }
                                done(make_channel(reactor, std::move(*base)));
                            });
    }

    [[nodiscard]] Bdev& base() const { return *base_; }
    // The claim's holder name in the registry ("delay bdev Delay0").
    [[nodiscard]] std::string holder() const {
        return fmt::format("{} bdev {}", driver(), bdev().name());
    }

  protected:
    virtual std::unique_ptr<BackendChannel> make_channel(reactor::Reactor& reactor,
                                                         std::unique_ptr<IoChannel> base) = 0;

  private:
    std::shared_ptr<Bdev> base_;
};

// The geometry a stacked bdev takes from its base, with capabilities it may narrow.
inline BdevInit stacked_init(const Bdev& base, std::string name, std::string product,
                             std::string uuid) {
    return BdevInit{.name = std::move(name),
                    .product = std::move(product),
                    .block_size = base.block_size(),
                    .num_blocks = base.num_blocks(),
                    .caps = base.capabilities(),
                    .uuid = std::move(uuid)};
}

// Creates `backend`'s bdev over `base` and claims the base for it.
inline Result<std::shared_ptr<Bdev>> make_stacked_bdev(BdevInit init,
                                                       std::unique_ptr<StackedBackend> backend,
                                                       BdevRegistry& bdevs) {
    StackedBackend* raw = backend.get();
    const std::string base_name = raw->base().name();
    auto bdev = VHOSTD_TRY(make_bdev(std::move(init), std::move(backend)));
    VHOSTD_TRY(bdevs.claim(base_name, raw->holder()));
    return bdev;
}

}  // namespace vhostd::block

// Null backend: a bdev whose channel completes every well-formed request successfully.
#include "block/backends/null/null_bdev.hpp"

#include "block/module/bdev_module.hpp"
#include "block/module/deferred_channel.hpp"

namespace vhostd::block {
namespace {

class NullChannel final : public DeferredChannel {
  public:
    using DeferredChannel::DeferredChannel;

  private:
    IoStatus execute(IoRequest& request) noexcept override {
        scratch(request).transferred = request.length;
        return IoStatus::success;
    }
};

class NullBackend final : public BdevBackend {
  public:
    [[nodiscard]] std::string_view driver() const override { return "null"; }
    Result<std::unique_ptr<BackendChannel>> create_channel(reactor::Reactor& reactor) override {
        return std::make_unique<NullChannel>(reactor, bdev());
    }
    [[nodiscard]] nlohmann::json describe() const override { return geometry_params(bdev()); }
};

}  // namespace

Result<void> bdev_null_resize(Bdev& bdev, uint64_t new_size_mib) {
    if (BdevModuleAccess::backend<NullBackend>(bdev) == nullptr) {
        return make_error(EINVAL, "bdev {} is not a null bdev", bdev.name());
    }
    constexpr uint64_t kMiB = uint64_t{1} << 20;
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(new_size_mib, kMiB, &bytes) || bytes % bdev.block_size() != 0) {
        return make_error(EINVAL, "bdev {}: {} MiB is not a whole number of {}-byte blocks",
                          bdev.name(), new_size_mib, bdev.block_size());
    }
    const uint64_t blocks = bytes / bdev.block_size();
    if (blocks < bdev.num_blocks()) {
        return make_error(EINVAL,
                          "bdev {}: the new size ({} MiB) must not be smaller than the "
                          "current one ({} blocks of {} bytes)",
                          bdev.name(), new_size_mib, bdev.num_blocks(), bdev.block_size());
    }
    BdevModuleAccess::set_num_blocks(bdev, blocks);
    return {};
}

Result<std::shared_ptr<Bdev>> bdev_null_create(const NullParams& params) {
    // Discard and write-zeroes are accepted (and ignored) so that the whole virtio-blk command
    // set can be exercised against it; there is no cache to flush.
    return make_bdev(BdevInit{.name = params.name,
                              .product = "Null disk",
                              .block_size = params.block_size,
                              .num_blocks = params.num_blocks,
                              .caps = Capabilities{.discard = true, .write_zeroes = true},
                              .uuid = params.uuid},
                     std::make_unique<NullBackend>());
}

}  // namespace vhostd::block

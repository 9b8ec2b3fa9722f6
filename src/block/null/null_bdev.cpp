// Null backend: a bdev whose channel completes every well-formed request successfully.
#include "block/null/null_bdev.hpp"

#include <nlohmann/json.hpp>

#include "block/bdev_checks.hpp"
#include "block/deferred_channel.hpp"

namespace vhostd::block {
namespace {

class NullChannel final : public DeferredChannel {
  public:
    using DeferredChannel::DeferredChannel;

  private:
    IoStatus execute(IoRequest& request) noexcept override {
        request.transferred = request.length;
        return IoStatus::success;
    }
};

class NullBdev final : public Bdev {
  public:
    using Bdev::set_num_blocks;

    NullBdev(const NullParams& p, std::string uuid)
        : Bdev(p.name, "Null disk", p.block_size, p.num_blocks, capabilities(), std::move(uuid)) {}

    Result<std::unique_ptr<BackendChannel>> create_channel(reactor::Reactor& reactor) override {
        return std::make_unique<NullChannel>(reactor, *this);
    }

    void describe(nlohmann::json& driver_specific) const override {
        driver_specific["null"] = {{"name", name()},
                                   {"num_blocks", num_blocks()},
                                   {"block_size", block_size()},
                                   {"uuid", uuid()}};
    }

  private:
    // Discard and write-zeroes are accepted (and ignored) so that the whole virtio-blk command
    // set can be exercised against it; there is no cache to flush.
    static Capabilities capabilities() {
        Capabilities caps;
        caps.discard = true;
        caps.write_zeroes = true;
        return caps;
    }
};

}  // namespace

Result<void> bdev_null_resize(Bdev& bdev, uint64_t new_size_mib) {
    auto* null = dynamic_cast<NullBdev*>(&bdev);
    if (null == nullptr) {
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
    null->set_num_blocks(blocks);
    return {};
}

Result<std::shared_ptr<Bdev>> bdev_null_create(const NullParams& params) {
    VHOSTD_TRY(check_bdev_name(params.name));
    VHOSTD_TRY(check_block_size(params.name, params.block_size));
    VHOSTD_TRY(checked_size_bytes(params.name, params.block_size, params.num_blocks));
    std::string uuid = VHOSTD_TRY(check_uuid(params.name, params.uuid));
    return std::make_shared<NullBdev>(params, std::move(uuid));
}

}  // namespace vhostd::block

// Uring bdev: creation (open, geometry, capabilities) and channels.
#include "block/backends/uring/uring_bdev.hpp"

#include <climits>

#include "base/log.hpp"
#include "block/backends/uring/uring_channel.hpp"
#include "block/bdev_checks.hpp"
#include "block/module/bdev_module.hpp"
#include "block/module/request_check.hpp"

namespace vhostd::block {
namespace {

Capabilities capabilities_of(const UringFile& file, uint32_t block_size) {
    Capabilities caps;
    // Files have the page cache (and O_DIRECT the device's cache) between a completed write
    // and stable storage: FLUSH means fdatasync.
    caps.flush = true;
    caps.discard = !file.read_only;
    caps.write_zeroes = !file.read_only;
    caps.read_only = file.read_only;
    caps.max_segments = IOV_MAX;  // readv/writev refuse more (EINVAL)
    caps.physical_block_size = file.physical_block_size > block_size ? file.physical_block_size : 0;
    return caps;
}

class UringBackend final : public BdevBackend {
  public:
    explicit UringBackend(std::shared_ptr<const UringFile> file) : file_(std::move(file)) {}

    [[nodiscard]] std::string_view driver() const override { return "uring"; }
    Result<std::unique_ptr<BackendChannel>> create_channel(reactor::Reactor& reactor) override {
        return UringChannel::create(reactor, file_, RequestLimits::of(bdev()), bdev().name());
    }
    [[nodiscard]] nlohmann::json describe() const override {
        return {{"name", bdev().name()},
                {"filename", file_->filename},
                {"block_size", bdev().block_size()},
                {"uuid", bdev().uuid()}};
    }
    [[nodiscard]] const UringFile& file() const { return *file_; }

  private:
    std::shared_ptr<const UringFile> file_;  // shared with the channels
};

}  // namespace

const UringFile* uring_file(Bdev& bdev) {
    const auto* backend = BdevModuleAccess::backend<UringBackend>(bdev);
    return backend != nullptr ? &backend->file() : nullptr;
}

Result<std::shared_ptr<Bdev>> bdev_uring_create(const UringParams& params) {
    VHOSTD_TRY(check_bdev_name(params.name));
    if (params.filename.empty()) {
        return make_error(EINVAL, "bdev {}: filename must not be empty", params.name);
    }
    if (params.block_size != 0) {
        VHOSTD_TRY(check_block_size(params.name, params.block_size));
    }
    std::string uuid = VHOSTD_TRY(check_uuid(params.name, params.uuid));
    auto opened = open_uring_file(params.filename);
    if (!opened) {
        return make_error(opened.error().code, "bdev {}: {}", params.name, opened.error().message);
    }
    std::shared_ptr<const UringFile> file = std::move(*opened);

    const uint32_t block_size =
        params.block_size != 0 ? params.block_size : file->logical_block_size;
    VHOSTD_TRY(check_block_size(params.name, block_size));  // a detected size, too
    if (block_size < file->logical_block_size) {
        // The device cannot address less than its logical block (O_DIRECT would refuse).
        return make_error(EINVAL,
                          "bdev {}: block_size {} is smaller than the logical block "
                          "size {} of {}",
                          params.name, block_size, file->logical_block_size, file->filename);
    }
    if (file->size_bytes < block_size) {
        return make_error(EINVAL, "bdev {}: {} holds {} bytes, less than one block of {}",
                          params.name, file->filename, file->size_bytes, block_size);
    }
    const uint64_t num_blocks = file->size_bytes / block_size;
    if (file->size_bytes % block_size != 0) {
        LOG_WARN(block, "bdev {}: the last {} bytes of {} are not a whole block and are unused",
                 params.name, file->size_bytes % block_size, file->filename);
    }
    LOG_INFO(block, "uring bdev {}: {} ({}{}), {} blocks of {} bytes", params.name, file->filename,
             file->direct_io ? "O_DIRECT" : "buffered: O_DIRECT refused",
             file->read_only ? ", read-only" : "", num_blocks, block_size);
    const Capabilities caps = capabilities_of(*file, block_size);
    return make_bdev(BdevInit{.name = params.name,
                              .product = "URING bdev",
                              .block_size = block_size,
                              .num_blocks = num_blocks,
                              .caps = caps,
                              .uuid = std::move(uuid)},
                     std::make_unique<UringBackend>(std::move(file)));
}

Result<uint64_t> bdev_uring_rescan(Bdev& bdev, bool may_shrink) {
    const UringFile* file = uring_file(bdev);
    if (file == nullptr) {
        return make_error(EINVAL, "bdev {} is not a uring bdev", bdev.name());
    }
    auto size = current_size_bytes(*file);
    if (!size) {
        return make_error(size.error().code, "bdev {}: {}", bdev.name(), size.error().message);
    }
    const uint64_t blocks = *size / bdev.block_size();
    if (blocks == 0) {
        return make_error(EINVAL, "bdev {}: {} now holds {} bytes, less than one block",
                          bdev.name(), file->filename, *size);
    }
    if (blocks < bdev.num_blocks() && !may_shrink) {
        return make_error(EBUSY, "bdev {}: {} shrank to {} blocks from {}, but the bdev is in use",
                          bdev.name(), file->filename, blocks, bdev.num_blocks());
    }
    BdevModuleAccess::set_num_blocks(bdev, blocks);
    return blocks;
}

}  // namespace vhostd::block

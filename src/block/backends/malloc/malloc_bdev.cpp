// Malloc backend: the bdev and its channel, which copies between guest buffers and the RAM
// disk on submit and completes from its poller.
#include "block/backends/malloc/malloc_bdev.hpp"

#include "base/iovec.hpp"
#include "block/backends/malloc/malloc_memory.hpp"
#include "block/bdev_checks.hpp"
#include "block/module/bdev_module.hpp"
#include "block/module/deferred_channel.hpp"

namespace vhostd::block {
namespace {

class MallocChannel final : public DeferredChannel {
  public:
    MallocChannel(reactor::Reactor& reactor, const Bdev& bdev, std::shared_ptr<MallocMemory> memory)
        : DeferredChannel(reactor, bdev), memory_(std::move(memory)) {}

  private:
    IoStatus execute(IoRequest& r) noexcept override {
        const std::span<const iovec> iov(r.iov, r.iovcnt);
        switch (r.type) {
            case IoType::read:
                iov_copy_in(iov, 0, memory_->data() + r.offset, r.length);
                break;
            case IoType::write:
                iov_copy_out(iov, 0, memory_->data() + r.offset, r.length);
                break;
            case IoType::flush:
                break;  // no volatile cache: a completed write is already "durable"
            case IoType::discard:
            case IoType::write_zeroes:
                // Discarded blocks read back as zeroes, which SPDK's malloc bdev also does.
                memory_->zero(r.offset, r.length);
                break;
        }
        scratch(r).transferred = r.length;
        return IoStatus::success;
    }

    std::shared_ptr<MallocMemory> memory_;
};

class MallocBackend final : public BdevBackend {
  public:
    explicit MallocBackend(std::shared_ptr<MallocMemory> memory) : memory_(std::move(memory)) {}

    [[nodiscard]] std::string_view driver() const override { return "malloc"; }
    Result<std::unique_ptr<BackendChannel>> create_channel(reactor::Reactor& reactor) override {
        return std::make_unique<MallocChannel>(reactor, bdev(), memory_);
    }
    [[nodiscard]] nlohmann::json describe() const override { return geometry_params(bdev()); }

  private:
    std::shared_ptr<MallocMemory> memory_;
};

}  // namespace

Result<std::shared_ptr<Bdev>> bdev_malloc_create(const MallocParams& params) {
    VHOSTD_TRY(check_bdev_name(params.name));
    VHOSTD_TRY(check_block_size(params.name, params.block_size));
    const uint64_t size =
        VHOSTD_TRY(checked_size_bytes(params.name, params.block_size, params.num_blocks));
    VHOSTD_TRY(check_uuid(params.name, params.uuid));  // before allocating gigabytes
    auto memory = MallocMemory::allocate(size);
    if (!memory) {
        return make_error(memory.error().code, "bdev {}: cannot allocate {} bytes of memory",
                          params.name, size);
    }
    // flush is false: memory has no volatile cache, so a guest told so (no VIRTIO_BLK_F_FLUSH)
    // skips flushes that could only be no-ops. Flush requests still succeed if sent.
    return make_bdev(BdevInit{.name = params.name,
                              .product = "Malloc disk",
                              .block_size = params.block_size,
                              .num_blocks = params.num_blocks,
                              .caps = Capabilities{.discard = true, .write_zeroes = true},
                              .uuid = params.uuid},
                     std::make_unique<MallocBackend>(std::move(*memory)));
}

}  // namespace vhostd::block

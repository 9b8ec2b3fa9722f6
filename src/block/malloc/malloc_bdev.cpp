// Malloc backend: the bdev and its channel, which copies between guest buffers and the RAM
// disk on submit and completes from its poller.
#include "block/malloc/malloc_bdev.hpp"

#include <nlohmann/json.hpp>

#include "base/iovec.hpp"
#include "block/bdev_checks.hpp"
#include "block/deferred_channel.hpp"
#include "block/malloc/malloc_memory.hpp"

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
        r.transferred = r.length;
        return IoStatus::success;
    }

    std::shared_ptr<MallocMemory> memory_;
};

class MallocBdev final : public Bdev {
  public:
    MallocBdev(const MallocParams& p, std::string uuid, std::shared_ptr<MallocMemory> memory)
        : Bdev(p.name, "Malloc disk", p.block_size, p.num_blocks, capabilities(), std::move(uuid)),
          memory_(std::move(memory)) {}

    Result<std::unique_ptr<BackendChannel>> create_channel(reactor::Reactor& reactor) override {
        return std::make_unique<MallocChannel>(reactor, *this, memory_);
    }

    void describe(nlohmann::json& driver_specific) const override {
        driver_specific["malloc"] = {{"name", name()},
                                     {"num_blocks", num_blocks()},
                                     {"block_size", block_size()},
                                     {"uuid", uuid()}};
    }

  private:
    // flush is false: memory has no volatile cache, so a guest told so (no VIRTIO_BLK_F_FLUSH)
    // skips flushes that could only be no-ops. Flush requests still succeed if sent.
    static Capabilities capabilities() {
        Capabilities caps;
        caps.discard = true;
        caps.write_zeroes = true;
        return caps;
    }

    std::shared_ptr<MallocMemory> memory_;
};

}  // namespace

Result<std::shared_ptr<Bdev>> bdev_malloc_create(const MallocParams& params) {
    VHOSTD_TRY(check_bdev_name(params.name));
    VHOSTD_TRY(check_block_size(params.name, params.block_size));
    const uint64_t size =
        VHOSTD_TRY(checked_size_bytes(params.name, params.block_size, params.num_blocks));
    std::string uuid = VHOSTD_TRY(check_uuid(params.name, params.uuid));
    auto memory = MallocMemory::allocate(size);
    if (!memory) {
        return make_error(memory.error().code, "bdev {}: cannot allocate {} bytes of memory",
                          params.name, size);
    }
    return std::make_shared<MallocBdev>(params, std::move(uuid), std::move(*memory));
}

}  // namespace vhostd::block

// Namespace: a bdev exposed under an NSID, with the identifiers drivers key it on (UUID,
// NGUID, EUI-64, all from the bdev's UUID unless one is given) and the Identify data built
// from the bdev's geometry. Immutable once created and shared by every reactor; its size is
// the bdev's, which the bdev layer publishes atomically when it is resized.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "block/bdev.hpp"
#include "spec/nvme.hpp"

namespace vhostd::nvme {

class Namespace {
  public:
    // `uuid` empty: the bdev's. EINVAL for NSID 0 or FFFFFFFFh, or an unparsable UUID.
    static Result<std::shared_ptr<const Namespace>> create(uint32_t nsid,
                                                           std::shared_ptr<block::Bdev> bdev,
                                                           std::string_view uuid);

    [[nodiscard]] uint32_t nsid() const { return nsid_; }
    [[nodiscard]] block::Bdev& bdev() const { return *bdev_; }
    [[nodiscard]] const std::shared_ptr<block::Bdev>& bdev_ptr() const { return bdev_; }
    [[nodiscard]] uint32_t block_size() const { return block_size_; }
    [[nodiscard]] unsigned block_shift() const { return block_shift_; }
    [[nodiscard]] uint64_t num_blocks() const { return bdev_->num_blocks(); }
    [[nodiscard]] bool read_only() const { return bdev_->capabilities().read_only; }
    [[nodiscard]] const std::string& uuid() const { return uuid_text_; }
    [[nodiscard]] const std::array<uint8_t, 16>& nguid() const { return nguid_; }
    [[nodiscard]] const std::array<uint8_t, 8>& eui64() const { return eui64_; }

    // 5.15.2.2 Identify Namespace (CNS 00h) for this namespace, as it is now.
    void identify(nvme_spec::IdentifyNamespace& out) const;
    // 5.15.2.3 Namespace Identification Descriptor list (CNS 03h) into a zeroed buffer.
    void descriptors(std::span<uint8_t> out) const;

  private:
    Namespace(uint32_t nsid, std::shared_ptr<block::Bdev> bdev, std::string uuid_text,
              const std::array<uint8_t, 16>& uuid);

    uint32_t nsid_;
    std::shared_ptr<block::Bdev> bdev_;
    uint32_t block_size_;
    unsigned block_shift_;
    std::string uuid_text_;
    std::array<uint8_t, 16> uuid_;
    std::array<uint8_t, 16> nguid_;
    std::array<uint8_t, 8> eui64_;
};

// NSATTR bit 0: the namespace is write protected (a read-only bdev).
constexpr uint8_t kNsattrWriteProtected = 1u << 0;

}  // namespace vhostd::nvme

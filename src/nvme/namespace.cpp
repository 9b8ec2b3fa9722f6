// Namespace: identifiers and Identify data.
#include "nvme/namespace.hpp"

#include <bit>
#include <cstring>

#include "block/uuid.hpp"

namespace vhostd::nvme {

namespace {

uint8_t hex_value(char c) {
    return static_cast<uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10);
}

// The canonical lowercase 8-4-4-4-12 form (normalize_uuid's output) as 16 bytes.
std::array<uint8_t, 16> uuid_bytes(std::string_view text) {
    std::array<uint8_t, 16> bytes{};
    size_t out = 0;
    for (size_t i = 0; i + 1 < text.size() && out < bytes.size();) {
        if (text[i] == '-') {
            ++i;
            continue;
        }
        bytes[out++] = static_cast<uint8_t>(hex_value(text[i]) << 4 | hex_value(text[i + 1]));
        i += 2;
    }
    return bytes;
}

void put_u128(std::array<uint8_t, 16>& out, uint64_t value) {
    out.fill(0);
    std::memcpy(out.data(), &value, sizeof(value));
}

}  // namespace

Result<std::shared_ptr<const Namespace>> Namespace::create(uint32_t nsid,
                                                           std::shared_ptr<block::Bdev> bdev,
                                                           std::string_view uuid) {
    if (nsid == 0 || nsid == nvme_spec::kNsidBroadcast) {
        return make_error(EINVAL, "NSID {} is reserved", nsid);
    }
    if (!bdev) {
        return make_error(EINVAL, "namespace {} has no bdev", nsid);
    }
    std::string text = VHOSTD_TRY(block::normalize_uuid(uuid.empty() ? bdev->uuid() : uuid));
    const auto bytes = uuid_bytes(text);
    return std::shared_ptr<const Namespace>(
        new Namespace(nsid, std::move(bdev), std::move(text), bytes));
}

Namespace::Namespace(uint32_t nsid, std::shared_ptr<block::Bdev> bdev, std::string uuid_text,
                     const std::array<uint8_t, 16>& uuid)
    : nsid_(nsid),
      bdev_(std::move(bdev)),
      block_size_(bdev_->block_size()),
      block_shift_(static_cast<unsigned>(std::countr_zero(block_size_))),
      uuid_text_(std::move(uuid_text)),
      uuid_(uuid),
      nguid_(uuid) {
    // EUI-64: both halves of the UUID folded together, so that namespaces whose UUIDs
    // differ anywhere get different EUI-64s.
    for (size_t i = 0; i < eui64_.size(); ++i) {
        eui64_[i] = static_cast<uint8_t>(uuid_[i] ^ uuid_[i + 8]);
    }
}

void Namespace::identify(nvme_spec::IdentifyNamespace& out) const {
    std::memset(&out, 0, sizeof(out));
    const uint64_t blocks = num_blocks();
    out.nsze = blocks;
    out.ncap = blocks;
    out.nuse = blocks;
    out.nlbaf = 0;  // one LBA format
    out.flbas = 0;
    out.lbaf[0].lbads = static_cast<uint8_t>(block_shift_);
    put_u128(out.nvmcap, blocks << block_shift_);
    out.nsattr = read_only() ? kNsattrWriteProtected : 0;
    out.nguid = nguid_;
    out.eui64 = eui64_;
}

void Namespace::descriptors(std::span<uint8_t> out) const {
    size_t at = 0;
    const auto put = [&](uint8_t type, std::span<const uint8_t> id) {
        const nvme_spec::NamespaceIdDescriptorHeader header{
            .nidt = type, .nidl = static_cast<uint8_t>(id.size()), .reserved = 0};
        if (at + sizeof(header) + id.size() > out.size()) {
            return;
        }
        std::memcpy(out.data() + at, &header, sizeof(header));
        std::memcpy(out.data() + at + sizeof(header), id.data(), id.size());
        at += sizeof(header) + id.size();
    };
    put(nvme_spec::nidt::kEui64, eui64_);
    put(nvme_spec::nidt::kNguid, nguid_);
    put(nvme_spec::nidt::kUuid, uuid_);
}

}  // namespace vhostd::nvme

// Logical unit identity and shared state.
#include "scsi/logical_unit.hpp"

#include <algorithm>
#include <cctype>

#include "base/log.hpp"

namespace vhostd::scsi {

namespace {

// The UUID's 32 hex digits, lowercase ("1b4e28ba2fa141d2883f0016d3cca427").
std::string hex_digits(const std::string& uuid) {
    std::string out;
    for (char c : uuid) {
        if (std::isxdigit(static_cast<unsigned char>(c))) {
            out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        }
    }
    return out;
}

uint64_t parse_hex64(std::string_view digits) {
    uint64_t v = 0;
    for (char c : digits) {
        const int d = c <= '9' ? c - '0' : c - 'a' + 10;
        v = v << 4 | static_cast<uint64_t>(d);
    }
    return v;
}

}  // namespace

Result<std::shared_ptr<LogicalUnit>> LogicalUnit::create(uint64_t lun,
                                                         std::shared_ptr<block::Bdev> bdev) {
    if (lun > kMaxLunId) {
        return make_error(EINVAL, "LUN {} out of range (0..{})", lun, kMaxLunId);
    }
    if (!bdev) {
        return make_error(EINVAL, "LUN {}: no bdev", lun);
    }
    if (bdev->block_size() < 512 || bdev->block_size() > 65536 || bdev->num_blocks() == 0) {
        return make_error(EINVAL, "bdev {}: block size {} / {} blocks unusable for SCSI",
                          bdev->name(), bdev->block_size(), bdev->num_blocks());
    }
    if (hex_digits(bdev->uuid()).size() != 32) {
        return make_error(EINVAL, "bdev {}: UUID '{}' unusable for SCSI identifiers", bdev->name(),
                          bdev->uuid());
    }
    return std::shared_ptr<LogicalUnit>(new LogicalUnit(lun, std::move(bdev)));
}

LogicalUnit::LogicalUnit(uint64_t lun, std::shared_ptr<block::Bdev> bdev)
    : lun_(lun),
      bdev_(std::move(bdev)),
      num_blocks_(bdev_->num_blocks()),
      write_cache_(bdev_->capabilities().flush) {
    // VPD 80h and 83h come from the bdev UUID, which save_config keeps: the guest sees the same
    // disk identity after a restart (udev's /dev/disk/by-id names stay put).
    serial_ = hex_digits(bdev_->uuid());
    const uint64_t hi = parse_hex64(std::string_view(serial_).substr(0, 16));
    const uint64_t lo = parse_hex64(std::string_view(serial_).substr(16, 16));
    // SPC-4 7.8.6.6.5: NAA 3h (locally assigned): 4-bit NAA, 60-bit locally administered value.
    naa_id_ = uint64_t{3} << 60 | ((hi ^ lo) & ((uint64_t{1} << 60) - 1));
    product_ = bdev_->product_name().substr(0, 16);
    product_.resize(16, ' ');
    std::replace_if(
        product_.begin(), product_.end(), [](char c) { return c < 0x20 || c > 0x7e; },
        ' ');  // SPC-4 4.4.1: printable ASCII
    unit_attentions_.raise_all(UnitAttention::power_on_reset);
}

void LogicalUnit::notify_resized() {
    const uint64_t blocks = bdev_->num_blocks();
    if (num_blocks_.exchange(blocks, std::memory_order_acq_rel) != blocks) {
        LOG_INFO(scsi, "LUN {} (bdev {}): capacity now {} blocks", lun_, bdev_->name(), blocks);
        unit_attentions_.raise_all(UnitAttention::capacity_changed);
    }
}

void LogicalUnit::notify_reset() {
    unit_attentions_.raise_all(UnitAttention::power_on_reset);
}

void LogicalUnit::notify_nexus_reset(uint32_t initiator) {
    unit_attentions_.raise(initiator, UnitAttention::nexus_loss);
}

}  // namespace vhostd::scsi

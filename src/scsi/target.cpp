// A target's LUN table (control reactor).
#include "scsi/target.hpp"

#include "base/log.hpp"

namespace vhostd::scsi {

Result<std::shared_ptr<LogicalUnit>> Target::add_lun(uint64_t lun,
                                                     std::shared_ptr<block::Bdev> bdev) {
    if (luns_.contains(lun)) {
        return make_error(EEXIST, "target {}: LUN {} exists", id_, lun);
    }
    if (luns_.size() >= kMaxLunsPerTarget) {
        return make_error(ENOSPC, "target {}: at most {} LUNs", id_, kMaxLunsPerTarget);
    }
    auto unit = VHOSTD_TRY(LogicalUnit::create(lun, std::move(bdev)));
    // SPC-4 7.8 / SAM-5 5.14: the inventory changed for the LUNs the initiator already knows.
    for (auto& [id, other] : luns_) {
        other->unit_attentions().raise_all(UnitAttention::reported_luns_changed);
    }
    luns_.emplace(lun, unit);
    LOG_INFO(scsi, "target {}: LUN {} over bdev {}", id_, lun, unit->bdev()->name());
    return unit;
}

std::shared_ptr<LogicalUnit> Target::remove_lun(uint64_t lun) {
    auto it = luns_.find(lun);
    if (it == luns_.end()) {
        return nullptr;
    }
    auto unit = std::move(it->second);
    luns_.erase(it);
    for (auto& [id, other] : luns_) {
        other->unit_attentions().raise_all(UnitAttention::reported_luns_changed);
    }
    LOG_INFO(scsi, "target {}: LUN {} removed", id_, lun);
    return unit;
}

std::shared_ptr<LogicalUnit> Target::find(uint64_t lun) const {
    auto it = luns_.find(lun);
    return it == luns_.end() ? nullptr : it->second;
}

}  // namespace vhostd::scsi

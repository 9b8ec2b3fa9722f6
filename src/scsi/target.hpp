// Target: one SCSI target device (a target id, 0..255 under virtio-scsi) and the logical units
// it holds. Lives on the control reactor; LUNs are added and removed at runtime (hot-plug).
// The transport then attaches/detaches each LogicalUnit on every TargetChannel (one per queue)
// by posting to the queues' reactors.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "base/error.hpp"
#include "block/bdev.hpp"
#include "scsi/logical_unit.hpp"

namespace vhostd::scsi {

inline constexpr size_t kMaxLunsPerTarget = 256;

class Target {
  public:
    explicit Target(uint32_t id) : id_(id) {}
    Target(const Target&) = delete;
    Target& operator=(const Target&) = delete;

    [[nodiscard]] uint32_t id() const { return id_; }

    // Creates LUN `lun` over `bdev` with a pending POWER ON unit attention, and raises
    // REPORTED LUNS DATA HAS CHANGED on the target's other LUNs. EEXIST if taken, EINVAL if
    // lun > kMaxLunId, ENOSPC past kMaxLunsPerTarget.
    Result<std::shared_ptr<LogicalUnit>> add_lun(uint64_t lun, std::shared_ptr<block::Bdev> bdev);
    // Forgets LUN `lun` (nullptr if absent) and raises REPORTED LUNS DATA HAS CHANGED on the
    // others. The caller detaches it from every TargetChannel; in-flight tasks then complete.
    std::shared_ptr<LogicalUnit> remove_lun(uint64_t lun);

    [[nodiscard]] std::shared_ptr<LogicalUnit> find(uint64_t lun) const;
    [[nodiscard]] const std::map<uint64_t, std::shared_ptr<LogicalUnit>>& luns() const {
        return luns_;
    }

  private:
    const uint32_t id_;
    std::map<uint64_t, std::shared_ptr<LogicalUnit>> luns_;
};

}  // namespace vhostd::scsi

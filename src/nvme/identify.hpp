// Identify data the controller reports (5.15): the Identify Controller structure built from
// the controller's options and what this implementation supports, the NVM command set's
// controller structure, and active namespace lists.
#pragma once

#include <cstdint>
#include <span>

#include "nvme/options.hpp"
#include "spec/nvme.hpp"

namespace vhostd::nvme {

// The PCI vendor and device ids of the function, reported as VID/SSVID too. 4E58h:0001h is
// what SPDK's vfio-user NVMe target uses: Linux's nvme driver has no quirk for it (its id
// table lists none; it binds by class code 010802h), and SPDK's driver knows the id.
constexpr uint16_t kVendorId = 0x4e58;
constexpr uint16_t kDeviceId = 0x0001;
constexpr char kFirmwareRevision[] = "vhostd01";

// 5.15.2.1 Identify Controller for these options; `shadow_doorbells` sets OACS bit 8.
void identify_controller(const ControllerOptions& options, bool shadow_doorbells,
                         nvme_spec::IdentifyController& out);

// NVM Command Set 4.1.5.3 (CNS 06h, CSI 00h): no limits beyond MDTS and 256 ranges.
void identify_controller_nvm(nvme_spec::IdentifyControllerNvm& out);

// 5.15.2.? (CNS 02h/07h): the active NSIDs above `after`, ascending, at most 1024, into a
// zeroed 4 KiB buffer. `active` is sorted.
void active_namespace_list(std::span<const uint32_t> active, uint32_t after,
                           std::span<uint8_t> out);

}  // namespace vhostd::nvme

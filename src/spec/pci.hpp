// PCI and PCI Express configuration space wire formats (PCI Local Bus 3.0, PCI Power Management
// 1.2, PCI Express Base 4.0 chapter 7): type-0 header offsets, command and status bits, BAR
// flag bits, capability ids and the layouts of the power management, MSI-X and PCI Express
// capabilities. Constants and layouts only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vhostd::pci_spec {

// Configuration space sizes: the conventional header area and PCI Express's extended space.
constexpr size_t kConfigSize = 256;
constexpr size_t kExpressConfigSize = 4096;
constexpr size_t kExtendedCapabilitiesStart = 0x100;

// Type-0 header offsets.
namespace reg {
constexpr uint32_t kVendorId = 0x00;         // 16 bits
constexpr uint32_t kDeviceId = 0x02;         // 16 bits
constexpr uint32_t kCommand = 0x04;          // 16 bits
constexpr uint32_t kStatus = 0x06;           // 16 bits
constexpr uint32_t kRevisionId = 0x08;       // 8 bits
constexpr uint32_t kClassCode = 0x09;        // 24 bits: programming interface, subclass, class
constexpr uint32_t kCacheLineSize = 0x0c;    // 8 bits
constexpr uint32_t kLatencyTimer = 0x0d;     // 8 bits
constexpr uint32_t kHeaderType = 0x0e;       // 8 bits
constexpr uint32_t kBist = 0x0f;             // 8 bits
constexpr uint32_t kBar0 = 0x10;             // 6 x 32 bits
constexpr uint32_t kCardbusCis = 0x28;       // 32 bits
constexpr uint32_t kSubsystemVendor = 0x2c;  // 16 bits
constexpr uint32_t kSubsystemId = 0x2e;      // 16 bits
constexpr uint32_t kExpansionRom = 0x30;     // 32 bits
constexpr uint32_t kCapabilities = 0x34;     // 8 bits: offset of the first capability
constexpr uint32_t kInterruptLine = 0x3c;    // 8 bits
constexpr uint32_t kInterruptPin = 0x3d;     // 8 bits: 1 = INTA#
constexpr uint32_t kMinGrant = 0x3e;
constexpr uint32_t kMaxLatency = 0x3f;
constexpr uint32_t kHeaderEnd = 0x40;  // capabilities may start here
}  // namespace reg

constexpr unsigned kNumBars = 6;

// Command register bits (PCI 3.0 6.2.2).
namespace command {
constexpr uint16_t kIoSpace = 1u << 0;
constexpr uint16_t kMemorySpace = 1u << 1;
constexpr uint16_t kBusMaster = 1u << 2;
constexpr uint16_t kParityErrorResponse = 1u << 6;
constexpr uint16_t kSerrEnable = 1u << 8;
constexpr uint16_t kInterruptDisable = 1u << 10;
}  // namespace command

// Status register bits (PCI 3.0 6.2.3).
namespace status {
constexpr uint16_t kInterruptStatus = 1u << 3;
constexpr uint16_t kCapabilitiesList = 1u << 4;
// Error bits a write of 1 clears.
constexpr uint16_t kWriteOneToClear = 0xf900;
}  // namespace status

// Base address register flag bits (PCI 3.0 6.2.5.1).
namespace bar {
constexpr uint32_t kIo = 1u << 0;
constexpr uint32_t kMemType64 = 2u << 1;
constexpr uint32_t kPrefetchable = 1u << 3;
constexpr uint32_t kMemFlagsMask = 0xf;
}  // namespace bar

// Capability ids (PCI Code and ID Assignment 1.11).
namespace cap_id {
constexpr uint8_t kPowerManagement = 0x01;
constexpr uint8_t kMsi = 0x05;
constexpr uint8_t kExpress = 0x10;
constexpr uint8_t kMsix = 0x11;
}  // namespace cap_id

// Every capability starts with its id and the offset of the next one (0: the last).
constexpr uint32_t kCapNext = 1;

// Power management capability (PCI PM 1.2 3.2): 8 bytes.
namespace pm {
constexpr uint32_t kSize = 8;
constexpr uint32_t kPmc = 2;                // 16 bits: capabilities
constexpr uint32_t kPmcsr = 4;              // 16 bits: control/status
constexpr uint16_t kVersion12 = 3;          // PMC bits 2:0
constexpr uint16_t kPowerStateMask = 0x3;   // PMCSR bits 1:0, D0..D3hot
constexpr uint16_t kNoSoftReset = 1u << 3;  // PMCSR: D3hot->D0 keeps the function's state
}  // namespace pm

// MSI-X capability (PCI 3.0 6.8.2): 12 bytes; the table and the pending bit array live in BARs.
namespace msix {
constexpr uint32_t kSize = 12;
constexpr uint32_t kControl = 2;            // 16 bits: message control
constexpr uint32_t kTable = 4;              // 32 bits: table offset | BIR
constexpr uint32_t kPba = 8;                // 32 bits: PBA offset | BIR
constexpr uint16_t kTableSizeMask = 0x7ff;  // N - 1
constexpr uint16_t kFunctionMask = 1u << 14;
constexpr uint16_t kEnable = 1u << 15;
constexpr uint32_t kBirMask = 0x7;
constexpr unsigned kMaxVectors = 2048;
// One table entry: message address (64 bits), message data, vector control.
constexpr size_t kEntrySize = 16;
constexpr uint32_t kEntryAddressLow = 0;
constexpr uint32_t kEntryAddressHigh = 4;
constexpr uint32_t kEntryData = 8;
constexpr uint32_t kEntryVectorControl = 12;
constexpr uint32_t kVectorMasked = 1u << 0;
}  // namespace msix

// PCI Express capability, version 2, of an endpoint (PCIe 4.0 7.5.3): 0x3c bytes.
namespace express {
constexpr uint32_t kSize = 0x3c;
constexpr uint32_t kCapabilities = 0x02;                 // 16 bits: version, device/port type
constexpr uint32_t kDeviceCap = 0x04;                    // 32 bits
constexpr uint32_t kDeviceControl = 0x08;                // 16 bits
constexpr uint32_t kDeviceStatus = 0x0a;                 // 16 bits
constexpr uint32_t kLinkCap = 0x0c;                      // 32 bits
constexpr uint32_t kLinkControl = 0x10;                  // 16 bits
constexpr uint32_t kLinkStatus = 0x12;                   // 16 bits
constexpr uint32_t kDeviceCap2 = 0x24;                   // 32 bits
constexpr uint32_t kDeviceControl2 = 0x28;               // 16 bits
constexpr uint32_t kDeviceStatus2 = 0x2a;                // 16 bits
constexpr uint32_t kLinkCap2 = 0x2c;                     // 32 bits
constexpr uint32_t kLinkControl2 = 0x30;                 // 16 bits
constexpr uint32_t kLinkStatus2 = 0x32;                  // 16 bits
constexpr uint16_t kVersion2 = 0x2;                      // capabilities bits 3:0
constexpr uint16_t kTypeEndpoint = 0x0 << 4;             // capabilities bits 7:4
constexpr uint32_t kRoleBasedErrorReporting = 1u << 15;  // device capabilities
constexpr uint32_t kCompletionTimeoutDisable = 1u << 4;  // device capabilities 2
constexpr uint16_t kDeviceControlDefault = 0x2810;       // relaxed ordering, no snoop, 512 B reads
constexpr uint16_t kDeviceStatusWriteOneToClear = 0x000f;  // error detected bits
constexpr uint32_t kLinkSpeed2_5 = 0x1;                    // link capabilities bits 3:0: 2.5 GT/s
constexpr uint32_t kLinkWidthX1 = 0x1 << 4;
constexpr uint32_t kSupportedSpeeds2_5 = 0x1 << 1;  // link capabilities 2 bits 7:1
}  // namespace express

// Class code of an NVM Express I/O controller: mass storage, non-volatile memory, NVMe.
constexpr uint32_t kClassNvmExpress = 0x010802;

}  // namespace vhostd::pci_spec

// NVM Express wire formats (NVMe Base Specification 1.4, with the NVM Command Set parts of 2.0
// that drivers ask a 1.4 controller for): controller registers and their fields, the
// submission and completion queue entries, SGL descriptors, opcodes, status codes, the
// Identify, feature and log page structures, and asynchronous event encodings. Constants and
// layouts only; every layout is checked against the specification's offsets below.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace vhostd::nvme_spec {

static_assert(std::endian::native == std::endian::little, "NVMe structures are little-endian");

// --- 3.1 controller registers (BAR0) ---
namespace reg {
constexpr uint32_t kCap = 0x00;    // 64 bits: controller capabilities
constexpr uint32_t kVs = 0x08;     // version
constexpr uint32_t kIntms = 0x0c;  // interrupt mask set
constexpr uint32_t kIntmc = 0x10;  // interrupt mask clear
constexpr uint32_t kCc = 0x14;     // controller configuration
constexpr uint32_t kCsts = 0x1c;   // controller status
constexpr uint32_t kNssr = 0x20;   // NVM subsystem reset
constexpr uint32_t kAqa = 0x24;    // admin queue attributes
constexpr uint32_t kAsq = 0x28;    // 64 bits: admin submission queue base
constexpr uint32_t kAcq = 0x30;    // 64 bits: admin completion queue base
constexpr uint32_t kCmbloc = 0x38;
constexpr uint32_t kCmbsz = 0x3c;
constexpr uint32_t kDoorbells = 0x1000;  // 3.1.24: SQ y tail at 0x1000 + (2y) * (4 << DSTRD)
constexpr uint32_t kRegistersEnd = 0x1000;
}  // namespace reg

// 3.1.1 CAP
namespace cap {
constexpr uint64_t kMqesMask = 0xffff;  // 0's based
constexpr uint64_t kCqr = 1ull << 16;   // contiguous queues required
constexpr unsigned kAmsShift = 17;
constexpr unsigned kToShift = 24;  // 500 ms units
constexpr unsigned kDstrdShift = 32;
constexpr uint64_t kNssrs = 1ull << 36;
constexpr unsigned kCssShift = 37;
constexpr uint64_t kCssNvm = 1ull << 37;  // NVM command set
constexpr unsigned kMpsminShift = 48;
constexpr unsigned kMpsmaxShift = 52;
}  // namespace cap

// 3.1.2 VS
constexpr uint32_t version(uint32_t major, uint32_t minor, uint32_t tertiary = 0) {
    return (major << 16) | (minor << 8) | tertiary;
}

// 3.1.5 CC
namespace cc {
constexpr uint32_t kEnable = 1u << 0;
constexpr unsigned kCssShift = 4;
constexpr uint32_t kCssMask = 0x7;
constexpr uint32_t kCssNvm = 0;
constexpr unsigned kMpsShift = 7;
constexpr uint32_t kMpsMask = 0xf;
constexpr unsigned kAmsShift = 11;
constexpr uint32_t kAmsMask = 0x7;
constexpr unsigned kShnShift = 14;
constexpr uint32_t kShnMask = 0x3;
constexpr uint32_t kShnNone = 0;
constexpr uint32_t kShnNormal = 1;
constexpr uint32_t kShnAbrupt = 2;
constexpr unsigned kIosqesShift = 16;
constexpr unsigned kIocqesShift = 20;
constexpr uint32_t kQesMask = 0xf;
}  // namespace cc

// 3.1.6 CSTS
namespace csts {
constexpr uint32_t kReady = 1u << 0;
constexpr uint32_t kFatal = 1u << 1;  // CFS
constexpr unsigned kShstShift = 2;
constexpr uint32_t kShstMask = 0x3u << 2;
constexpr uint32_t kShstNormal = 0;
constexpr uint32_t kShstOccurring = 1;
constexpr uint32_t kShstComplete = 2;
}  // namespace csts

// 3.1.8 AQA
namespace aqa {
constexpr uint32_t kAsqsMask = 0xfff;  // 0's based
constexpr unsigned kAcqsShift = 16;
constexpr uint32_t kAcqsMask = 0xfff;
}  // namespace aqa

constexpr uint32_t kDoorbellSize = 4;        // with DSTRD = 0
constexpr uint32_t kMaxAdminEntries = 4096;  // AQA: 12-bit 0's based sizes
constexpr uint32_t kMinQueueEntries = 2;     // 4.1.3: a queue of one entry is invalid
constexpr uint32_t kSqEntrySize = 64;
constexpr uint32_t kCqEntrySize = 16;
constexpr uint32_t kSqesLog2 = 6;
constexpr uint32_t kCqesLog2 = 4;
constexpr uint32_t kMinPageShift = 12;  // CC.MPS = 0: 4 KiB

// --- 4.2 submission queue entry ---
struct Command {
    uint8_t opcode;
    uint8_t flags;  // FUSE bits 1:0, PSDT bits 7:6
    uint16_t cid;
    uint32_t nsid;
    uint32_t cdw2;
    uint32_t cdw3;
    uint64_t mptr;
    uint64_t dptr1;  // PRP entry 1, or the first half of SGL descriptor 1
    uint64_t dptr2;  // PRP entry 2, or the second half
    uint32_t cdw10;
    uint32_t cdw11;
    uint32_t cdw12;
    uint32_t cdw13;
    uint32_t cdw14;
    uint32_t cdw15;
};
static_assert(sizeof(Command) == kSqEntrySize);
static_assert(offsetof(Command, dptr1) == 24 && offsetof(Command, cdw10) == 40);

constexpr uint8_t kFuseMask = 0x3;
constexpr unsigned kPsdtShift = 6;
constexpr uint8_t kPsdtPrp = 0;
constexpr uint8_t kPsdtSglMptrContiguous = 1;
constexpr uint8_t kPsdtSglMptrSgl = 2;

// --- 4.6 completion queue entry ---
struct Completion {
    uint32_t dw0;
    uint32_t dw1;
    uint16_t sq_head;
    uint16_t sq_id;
    uint16_t cid;
    uint16_t status;  // bit 0 phase tag, bits 15:1 the status field
};
static_assert(sizeof(Completion) == kCqEntrySize);

// 4.6.1 status field (bits 15:1 of the CQE's last word, stored here shifted down by one):
// SC bits 7:0, SCT bits 10:8, CRD 12:11, More bit 13, DNR bit 14.
namespace sct {
constexpr uint16_t kGeneric = 0;
constexpr uint16_t kCommandSpecific = 1;
constexpr uint16_t kMedia = 2;
}  // namespace sct
constexpr unsigned kSctShift = 8;
constexpr uint16_t kDnr = 1u << 14;

// 4.6.1.2.1 generic command status
namespace generic_sc {
constexpr uint8_t kSuccess = 0x00;
constexpr uint8_t kInvalidOpcode = 0x01;
constexpr uint8_t kInvalidField = 0x02;
constexpr uint8_t kCidConflict = 0x03;
constexpr uint8_t kDataTransferError = 0x04;
constexpr uint8_t kAbortedPowerLoss = 0x05;
constexpr uint8_t kInternalError = 0x06;
constexpr uint8_t kAbortRequested = 0x07;
constexpr uint8_t kAbortedSqDeletion = 0x08;
constexpr uint8_t kInvalidNamespaceOrFormat = 0x0b;
constexpr uint8_t kCommandSequenceError = 0x0c;
constexpr uint8_t kInvalidSglSegmentDescriptor = 0x0d;
constexpr uint8_t kInvalidNumberOfSglDescriptors = 0x0e;
constexpr uint8_t kDataSglLengthInvalid = 0x0f;
constexpr uint8_t kMetadataSglLengthInvalid = 0x10;
constexpr uint8_t kSglDescriptorTypeInvalid = 0x11;
constexpr uint8_t kPrpOffsetInvalid = 0x13;
constexpr uint8_t kSglOffsetInvalid = 0x16;
constexpr uint8_t kNamespaceWriteProtected = 0x20;
// NVM command set (4.6.1.2.2)
constexpr uint8_t kLbaOutOfRange = 0x80;
constexpr uint8_t kCapacityExceeded = 0x81;
constexpr uint8_t kNamespaceNotReady = 0x82;
}  // namespace generic_sc

// 4.6.1.2.3 command specific status
namespace specific_sc {
constexpr uint8_t kCompletionQueueInvalid = 0x00;
constexpr uint8_t kInvalidQueueIdentifier = 0x01;
constexpr uint8_t kInvalidQueueSize = 0x02;
constexpr uint8_t kAbortCommandLimitExceeded = 0x03;
constexpr uint8_t kAsyncEventRequestLimitExceeded = 0x05;
constexpr uint8_t kInvalidInterruptVector = 0x08;
constexpr uint8_t kInvalidLogPage = 0x09;
constexpr uint8_t kInvalidQueueDeletion = 0x0c;
constexpr uint8_t kFeatureNotSaveable = 0x0d;
constexpr uint8_t kFeatureNotChangeable = 0x0e;
constexpr uint8_t kFeatureNotNamespaceSpecific = 0x0f;
}  // namespace specific_sc

// 4.6.1.2.4 media and data integrity errors
namespace media_sc {
constexpr uint8_t kWriteFault = 0x80;
constexpr uint8_t kUnrecoveredReadError = 0x81;
}  // namespace media_sc

// --- 4.4 SGL descriptors ---
struct SglDescriptor {
    uint64_t address;
    uint32_t length;
    std::array<uint8_t, 3> reserved;
    uint8_t identifier;  // type bits 7:4, subtype bits 3:0
};
static_assert(sizeof(SglDescriptor) == 16);

namespace sgl_type {
constexpr uint8_t kDataBlock = 0x0;
constexpr uint8_t kBitBucket = 0x1;
constexpr uint8_t kSegment = 0x2;
constexpr uint8_t kLastSegment = 0x3;
constexpr uint8_t kKeyedDataBlock = 0x4;
constexpr uint8_t kTransportDataBlock = 0x5;
}  // namespace sgl_type
constexpr uint8_t kSglSubtypeAddress = 0x0;

// --- 5 admin opcodes ---
namespace admin_opcode {
constexpr uint8_t kDeleteIoSq = 0x00;
constexpr uint8_t kCreateIoSq = 0x01;
constexpr uint8_t kGetLogPage = 0x02;
constexpr uint8_t kDeleteIoCq = 0x04;
constexpr uint8_t kCreateIoCq = 0x05;
constexpr uint8_t kIdentify = 0x06;
constexpr uint8_t kAbort = 0x08;
constexpr uint8_t kSetFeatures = 0x09;
constexpr uint8_t kGetFeatures = 0x0a;
constexpr uint8_t kAsyncEventRequest = 0x0c;
constexpr uint8_t kNamespaceManagement = 0x0d;
constexpr uint8_t kFirmwareCommit = 0x10;
constexpr uint8_t kFirmwareDownload = 0x11;
constexpr uint8_t kNamespaceAttachment = 0x15;
constexpr uint8_t kKeepAlive = 0x18;
constexpr uint8_t kDoorbellBufferConfig = 0x7c;
constexpr uint8_t kFormatNvm = 0x80;
}  // namespace admin_opcode

// --- NVM command set I/O opcodes ---
namespace io_opcode {
constexpr uint8_t kFlush = 0x00;
constexpr uint8_t kWrite = 0x01;
constexpr uint8_t kRead = 0x02;
constexpr uint8_t kWriteUncorrectable = 0x04;
constexpr uint8_t kCompare = 0x05;
constexpr uint8_t kWriteZeroes = 0x08;
constexpr uint8_t kDatasetManagement = 0x09;
}  // namespace io_opcode

// Read/Write/Write Zeroes CDW12
constexpr uint32_t kNlbMask = 0xffff;  // 0's based
constexpr uint32_t kRwPrinfoMask = 0xfu << 26;
constexpr uint32_t kRwFua = 1u << 30;
constexpr uint32_t kRwLimitedRetry = 1u << 31;
constexpr uint32_t kWriteZeroesDeallocate = 1u << 25;  // DEAC

// Dataset Management: CDW10 NR (0's based number of ranges), CDW11 attributes.
constexpr uint32_t kDsmMaxRanges = 256;
constexpr uint32_t kDsmDeallocate = 1u << 2;
struct DsmRange {
    uint32_t attributes;
    uint32_t length;  // logical blocks
    uint64_t slba;
};
static_assert(sizeof(DsmRange) == 16);

// --- 5.15 Identify ---
namespace cns {
constexpr uint8_t kNamespace = 0x00;
constexpr uint8_t kController = 0x01;
constexpr uint8_t kActiveNamespaces = 0x02;
constexpr uint8_t kNamespaceDescriptors = 0x03;
constexpr uint8_t kCsiNamespace = 0x05;         // I/O command set specific namespace
constexpr uint8_t kCsiController = 0x06;        // I/O command set specific controller
constexpr uint8_t kCsiActiveNamespaces = 0x07;  // active namespaces of a command set
}  // namespace cns
constexpr uint8_t kCsiNvm = 0x00;
constexpr uint32_t kIdentifySize = 4096;
constexpr uint32_t kNsidBroadcast = 0xffffffff;
constexpr uint32_t kMaxNsidList = 1024;

struct PowerStateDescriptor {
    uint16_t max_power;  // centiwatts
    uint8_t reserved2;
    uint8_t flags;
    uint32_t entry_latency;
    uint32_t exit_latency;
    uint8_t relative_read_throughput;
    uint8_t relative_read_latency;
    uint8_t relative_write_throughput;
    uint8_t relative_write_latency;
    uint16_t idle_power;
    uint8_t reserved22;
    uint8_t idle_power_scale;
    uint16_t active_power;
    uint8_t active_power_workload;
    std::array<uint8_t, 9> reserved27;
};
static_assert(sizeof(PowerStateDescriptor) == 32);

// 5.15.2.1 Identify Controller data structure
struct IdentifyController {
    uint16_t vid;
    uint16_t ssvid;
    std::array<char, 20> sn;
    std::array<char, 40> mn;
    std::array<char, 8> fr;
    uint8_t rab;
    std::array<uint8_t, 3> ieee;
    uint8_t cmic;
    uint8_t mdts;
    uint16_t cntlid;
    uint32_t ver;
    uint32_t rtd3r;
    uint32_t rtd3e;
    uint32_t oaes;
    uint32_t ctratt;
    uint16_t rrls;
    std::array<uint8_t, 9> reserved102;
    uint8_t cntrltype;
    std::array<uint8_t, 16> fguid;
    std::array<uint16_t, 3> crdt;
    std::array<uint8_t, 106> reserved134;
    std::array<uint8_t, 16> nvme_mi;
    uint16_t oacs;
    uint8_t acl;
    uint8_t aerl;
    uint8_t frmw;
    uint8_t lpa;
    uint8_t elpe;
    uint8_t npss;
    uint8_t avscc;
    uint8_t apsta;
    uint16_t wctemp;
    uint16_t cctemp;
    uint16_t mtfa;
    uint32_t hmpre;
    uint32_t hmmin;
    std::array<uint8_t, 16> tnvmcap;
    std::array<uint8_t, 16> unvmcap;
    uint32_t rpmbs;
    uint16_t edstt;
    uint8_t dsto;
    uint8_t fwug;
    uint16_t kas;
    uint16_t hctma;
    uint16_t mntmt;
    uint16_t mxtmt;
    uint32_t sanicap;
    uint32_t hmminds;
    uint16_t hmmaxd;
    uint16_t nsetidmax;
    uint16_t endgidmax;
    uint8_t anatt;
    uint8_t anacap;
    uint32_t anagrpmax;
    uint32_t nanagrpid;
    uint32_t pels;
    std::array<uint8_t, 156> reserved356;
    uint8_t sqes;
    uint8_t cqes;
    uint16_t maxcmd;
    uint32_t nn;
    uint16_t oncs;
    uint16_t fuses;
    uint8_t fna;
    uint8_t vwc;
    uint16_t awun;
    uint16_t awupf;
    uint8_t nvscc;
    uint8_t nwpc;
    uint16_t acwu;
    uint16_t reserved534;
    uint32_t sgls;
    uint32_t mnan;
    std::array<uint8_t, 224> reserved544;
    std::array<char, 256> subnqn;
    std::array<uint8_t, 768> reserved1024;
    std::array<uint8_t, 256> nvmeof;
    std::array<PowerStateDescriptor, 32> psd;
    std::array<uint8_t, 1024> vendor;
};
static_assert(sizeof(IdentifyController) == kIdentifySize);
static_assert(offsetof(IdentifyController, sn) == 4 && offsetof(IdentifyController, mn) == 24);
static_assert(offsetof(IdentifyController, mdts) == 77 && offsetof(IdentifyController, ver) == 80);
static_assert(offsetof(IdentifyController, oaes) == 92 &&
              offsetof(IdentifyController, cntrltype) == 111);
static_assert(offsetof(IdentifyController, oacs) == 256 &&
              offsetof(IdentifyController, aerl) == 259);
static_assert(offsetof(IdentifyController, wctemp) == 266 &&
              offsetof(IdentifyController, kas) == 320);
static_assert(offsetof(IdentifyController, pels) == 352 &&
              offsetof(IdentifyController, sqes) == 512);
static_assert(offsetof(IdentifyController, nn) == 516 && offsetof(IdentifyController, oncs) == 520);
static_assert(offsetof(IdentifyController, vwc) == 525 &&
              offsetof(IdentifyController, sgls) == 536);
static_assert(offsetof(IdentifyController, subnqn) == 768 &&
              offsetof(IdentifyController, psd) == 2048);

// Identify Controller field bits.
namespace oacs {
constexpr uint16_t kDoorbellBufferConfig = 1u << 8;
}
namespace oaes {
constexpr uint32_t kNamespaceAttributeNotices = 1u << 8;
}
namespace oncs {
constexpr uint16_t kCompare = 1u << 0;
constexpr uint16_t kDatasetManagement = 1u << 2;
constexpr uint16_t kWriteZeroes = 1u << 3;
}  // namespace oncs
namespace lpa {
constexpr uint8_t kExtendedData = 1u << 2;  // NUMDU and the log page offset
}
namespace vwc {
constexpr uint8_t kPresent = 1u << 0;
constexpr uint8_t kFlushBroadcastUnsupported = 0x2u << 1;
}  // namespace vwc
constexpr uint32_t kSglsSupportedNoAlignment = 0x1;  // SGLS bits 1:0 = 01b
constexpr uint8_t kControllerTypeIo = 1;
constexpr size_t kNqnMaxLength = 223;

// 5.15.2.2 Identify Namespace data structure (NVM command set)
struct LbaFormat {
    uint16_t metadata_size;
    uint8_t lbads;  // log2 of the LBA data size
    uint8_t relative_performance;
};
static_assert(sizeof(LbaFormat) == 4);

struct IdentifyNamespace {
    uint64_t nsze;
    uint64_t ncap;
    uint64_t nuse;
    uint8_t nsfeat;
    uint8_t nlbaf;  // 0's based
    uint8_t flbas;
    uint8_t mc;
    uint8_t dpc;
    uint8_t dps;
    uint8_t nmic;
    uint8_t rescap;
    uint8_t fpi;
    uint8_t dlfeat;
    uint16_t nawun;
    uint16_t nawupf;
    uint16_t nacwu;
    uint16_t nabsn;
    uint16_t nabo;
    uint16_t nabspf;
    uint16_t noiob;
    std::array<uint8_t, 16> nvmcap;
    uint16_t npwg;
    uint16_t npwa;
    uint16_t npdg;
    uint16_t npda;
    uint16_t nows;
    std::array<uint8_t, 18> reserved74;
    uint32_t anagrpid;
    std::array<uint8_t, 3> reserved96;
    uint8_t nsattr;
    uint16_t nvmsetid;
    uint16_t endgid;
    std::array<uint8_t, 16> nguid;
    std::array<uint8_t, 8> eui64;
    std::array<LbaFormat, 16> lbaf;
    std::array<uint8_t, 192> reserved192;
    std::array<uint8_t, 3712> vendor;
};
static_assert(sizeof(IdentifyNamespace) == kIdentifySize);
static_assert(offsetof(IdentifyNamespace, nsfeat) == 24 &&
              offsetof(IdentifyNamespace, dlfeat) == 33);
static_assert(offsetof(IdentifyNamespace, nvmcap) == 48 && offsetof(IdentifyNamespace, nows) == 72);
static_assert(offsetof(IdentifyNamespace, nguid) == 104 &&
              offsetof(IdentifyNamespace, eui64) == 120);
static_assert(offsetof(IdentifyNamespace, lbaf) == 128);

namespace nsfeat {
constexpr uint8_t kThinProvisioning = 1u << 0;
}

// 5.15.2.3 Namespace Identification Descriptor
struct NamespaceIdDescriptorHeader {
    uint8_t nidt;
    uint8_t nidl;
    uint16_t reserved;
};
static_assert(sizeof(NamespaceIdDescriptorHeader) == 4);
namespace nidt {
constexpr uint8_t kEui64 = 1;  // 8 bytes
constexpr uint8_t kNguid = 2;  // 16 bytes
constexpr uint8_t kUuid = 3;   // 16 bytes
}  // namespace nidt

// NVM Command Set 2.0 4.1.5.3: I/O command set specific Identify Controller (CSI 00h).
struct IdentifyControllerNvm {
    uint8_t vsl;     // verify size limit
    uint8_t wzsl;    // write zeroes size limit (0: none beyond MDTS)
    uint8_t wusl;    // write uncorrectable size limit
    uint8_t dmrl;    // dataset management ranges limit (0: no limit beyond 256)
    uint32_t dmrsl;  // dataset management range size limit
    uint64_t dmsl;   // dataset management size limit
    std::array<uint8_t, 4080> reserved;
};
static_assert(sizeof(IdentifyControllerNvm) == kIdentifySize);

// --- 5.21.1 feature identifiers ---
namespace feature {
constexpr uint8_t kArbitration = 0x01;
constexpr uint8_t kPowerManagement = 0x02;
constexpr uint8_t kLbaRangeType = 0x03;
constexpr uint8_t kTemperatureThreshold = 0x04;
constexpr uint8_t kErrorRecovery = 0x05;
constexpr uint8_t kVolatileWriteCache = 0x06;
constexpr uint8_t kNumberOfQueues = 0x07;
constexpr uint8_t kInterruptCoalescing = 0x08;
constexpr uint8_t kInterruptVectorConfig = 0x09;
constexpr uint8_t kWriteAtomicity = 0x0a;
constexpr uint8_t kAsyncEventConfig = 0x0b;
constexpr uint8_t kAutonomousPowerState = 0x0c;
constexpr uint8_t kHostMemoryBuffer = 0x0d;
constexpr uint8_t kTimestamp = 0x0e;
constexpr uint8_t kKeepAliveTimer = 0x0f;
constexpr uint8_t kHostIdentifier = 0x81;
}  // namespace feature
// Get Features CDW10 SEL (bits 10:8) and Set Features CDW10 SV (bit 31).
constexpr unsigned kSelShift = 8;
constexpr uint32_t kSelMask = 0x7;
constexpr uint32_t kSelCurrent = 0;
constexpr uint32_t kSelDefault = 1;
constexpr uint32_t kSelSaved = 2;
constexpr uint32_t kSelSupportedCapabilities = 3;
constexpr uint32_t kSaveFeature = 1u << 31;
// Supported capabilities (SEL 011b) bits.
constexpr uint32_t kFeatureChangeable = 1u << 2;
constexpr uint32_t kFeatureNamespaceSpecific = 1u << 1;
constexpr uint32_t kHostIdentifierExtended = 1u << 0;  // Host Identifier CDW11 EXHID

// --- 5.14 Get Log Page ---
namespace log_id {
constexpr uint8_t kErrorInformation = 0x01;
constexpr uint8_t kHealth = 0x02;
constexpr uint8_t kFirmwareSlot = 0x03;
constexpr uint8_t kChangedNamespaces = 0x04;
}  // namespace log_id
constexpr uint32_t kLogRae = 1u << 15;  // CDW10: retain asynchronous event

// 5.14.1.1 Error Information Log Entry
struct ErrorLogEntry {
    uint64_t error_count;
    uint16_t sqid;
    uint16_t cid;
    uint16_t status;  // bits 15:1 the status field, bit 0 phase
    uint16_t parameter_location;
    uint64_t lba;
    uint32_t nsid;
    uint8_t vendor_info;
    uint8_t transport_type;
    uint16_t reserved30;
    uint64_t command_info;
    uint16_t transport_info;
    std::array<uint8_t, 22> reserved42;
};
static_assert(sizeof(ErrorLogEntry) == 64);

// 5.14.1.2 SMART / Health Information Log (512 bytes); 128-bit counters as two 64-bit halves.
struct HealthLog {
    uint8_t critical_warning;
    uint16_t composite_temperature;  // kelvin (unaligned at byte 1)
    uint8_t available_spare;
    uint8_t available_spare_threshold;
    uint8_t percentage_used;
    uint8_t endurance_group_warning;
    std::array<uint8_t, 25> reserved7;
    std::array<uint64_t, 2> data_units_read;  // 1000 x 512 bytes
    std::array<uint64_t, 2> data_units_written;
    std::array<uint64_t, 2> host_read_commands;
    std::array<uint64_t, 2> host_write_commands;
    std::array<uint64_t, 2> controller_busy_time;
    std::array<uint64_t, 2> power_cycles;
    std::array<uint64_t, 2> power_on_hours;
    std::array<uint64_t, 2> unsafe_shutdowns;
    std::array<uint64_t, 2> media_errors;
    std::array<uint64_t, 2> error_log_entries;
    uint32_t warning_temperature_time;
    uint32_t critical_temperature_time;
    std::array<uint16_t, 8> temperature_sensors;
    std::array<uint8_t, 296> reserved216;
} __attribute__((packed));
static_assert(sizeof(HealthLog) == 512);
static_assert(offsetof(HealthLog, data_units_read) == 32 &&
              offsetof(HealthLog, media_errors) == 160);

// 5.14.1.3 Firmware Slot Information Log (512 bytes)
struct FirmwareSlotLog {
    uint8_t active_slot;  // AFI
    std::array<uint8_t, 7> reserved1;
    std::array<std::array<char, 8>, 7> revisions;  // FRS1..FRS7
    std::array<uint8_t, 448> reserved64;
};
static_assert(sizeof(FirmwareSlotLog) == 512);

// 5.14.1.4 Changed Namespace List: up to 1024 NSIDs; FFFFFFFFh first when more changed.
constexpr size_t kChangedNamespaceLogSize = 4096;

// --- 5.2 Asynchronous Event Request completion dword 0 ---
namespace aen_type {
constexpr uint8_t kErrorStatus = 0x0;
constexpr uint8_t kHealthStatus = 0x1;
constexpr uint8_t kNotice = 0x2;
}  // namespace aen_type
namespace aen_error {
constexpr uint8_t kInvalidDoorbellRegister = 0x00;
constexpr uint8_t kInvalidDoorbellValue = 0x01;
constexpr uint8_t kPersistentInternalError = 0x03;
}  // namespace aen_error
namespace aen_notice {
constexpr uint8_t kNamespaceAttributeChanged = 0x00;
}
constexpr uint32_t aen_dw0(uint8_t type, uint8_t info, uint8_t log_page) {
    return uint32_t{type} | (uint32_t{info} << 8) | (uint32_t{log_page} << 16);
}
// Asynchronous Event Configuration (feature 0Bh) bit that enables namespace notices.
constexpr uint32_t kAecNamespaceAttributeNotices = 1u << 8;

// --- 5.7 Doorbell Buffer Config / shadow doorbells ---
// The shadow doorbell and EventIdx buffers hold one 32-bit slot per doorbell at the doorbell
// register's index: SQ y tail at (2y) * (4 << DSTRD), CQ y head at (2y + 1) * (4 << DSTRD).
constexpr uint32_t sq_doorbell_index(uint32_t qid) {
    return 2 * qid;
}
constexpr uint32_t cq_doorbell_index(uint32_t qid) {
    return 2 * qid + 1;
}
// The driver's side of the EventIdx rule (as Linux's nvme_dbbuf_need_event has it): after
// moving a shadow doorbell from `old_value` to `new_value`, a real doorbell write is needed
// iff the EventIdx lies in [old_value, new_value) counted modulo 2^16.
constexpr bool doorbell_event_needed(uint16_t event_idx, uint16_t new_value, uint16_t old_value) {
    return static_cast<uint16_t>(new_value - event_idx - 1) <
           static_cast<uint16_t>(new_value - old_value);
}

}  // namespace vhostd::nvme_spec

// virtio-scsi wire definitions (VIRTIO 1.2, 5.6): feature bits, queue layout, request and
// response layouts of the request, control and event queues, response codes and config space.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vhostd::virtio_scsi {

namespace feature {
constexpr unsigned kInout = 0;    // requests may carry data-out and data-in buffers
constexpr unsigned kHotplug = 1;  // TRANSPORT_RESET events on target add/remove
constexpr unsigned kChange = 2;   // PARAM_CHANGE events
constexpr unsigned kT10Pi = 3;    // protection information fields; never offered
}  // namespace feature

// 5.6.2: queue 0 is the control queue, 1 the event queue, 2.. the request queues.
constexpr uint16_t kControlQueue = 0;
constexpr uint16_t kEventQueue = 1;
constexpr uint16_t kFirstRequestQueue = 2;

// 5.6.4: defaults of cdb_size and sense_size (the driver may write other values).
constexpr uint32_t kDefaultCdbSize = 32;
constexpr uint32_t kDefaultSenseSize = 96;
constexpr uint32_t kMaxCdbSize = 32;     // what this device accepts as cdb_size
constexpr uint32_t kMaxSenseSize = 252;  // largest fixed/descriptor sense (SPC-4 4.5.1)
constexpr uint16_t kMaxTarget = 255;

// 5.6.6.1: response codes of request and control queues.
namespace response {
constexpr uint8_t kOk = 0;
constexpr uint8_t kOverrun = 1;
constexpr uint8_t kAborted = 2;
constexpr uint8_t kBadTarget = 3;
constexpr uint8_t kReset = 4;
constexpr uint8_t kBusy = 5;
constexpr uint8_t kTransportFailure = 6;
constexpr uint8_t kTargetFailure = 7;
constexpr uint8_t kNexusFailure = 8;
constexpr uint8_t kFailure = 9;
constexpr uint8_t kFunctionSucceeded = 10;
constexpr uint8_t kFunctionRejected = 11;
constexpr uint8_t kIncorrectLun = 12;
constexpr uint8_t kFunctionComplete = 0;
}  // namespace response

// 5.6.6.2: control queue request types and task management subtypes.
namespace control_type {
constexpr uint32_t kTmf = 0;
constexpr uint32_t kAnQuery = 1;
constexpr uint32_t kAnSubscribe = 2;
}  // namespace control_type

namespace tmf {
constexpr uint32_t kAbortTask = 0;
constexpr uint32_t kAbortTaskSet = 1;
constexpr uint32_t kClearAca = 2;
constexpr uint32_t kClearTaskSet = 3;
constexpr uint32_t kITNexusReset = 4;
constexpr uint32_t kLogicalUnitReset = 5;
constexpr uint32_t kQueryTask = 6;
constexpr uint32_t kQueryTaskSet = 7;
}  // namespace tmf

// 5.6.6.3: event types, the missed-events flag, and reasons.
namespace event {
constexpr uint32_t kNoEvent = 0;
constexpr uint32_t kTransportReset = 1;
constexpr uint32_t kAsyncNotify = 2;
constexpr uint32_t kParamChange = 3;
constexpr uint32_t kEventsMissed = 0x80000000;
// TRANSPORT_RESET reasons.
constexpr uint32_t kResetHard = 0;
constexpr uint32_t kResetRescan = 1;
constexpr uint32_t kResetRemoved = 2;
}  // namespace event

#pragma pack(push, 1)

// 5.6.6.1: the device-readable start of a request; the CDB (cdb_size bytes) follows.
struct CmdHeader {
    uint8_t lun[8];
    uint64_t id;
    uint8_t task_attr;
    uint8_t prio;
    uint8_t crn;
};
static_assert(sizeof(CmdHeader) == 19);

// 5.6.6.1: the device-writable start of a request; the sense (sense_size bytes) follows.
struct CmdResponse {
    uint32_t sense_len;
    uint32_t residual;
    uint16_t status_qualifier;
    uint8_t status;
    uint8_t response;
};
static_assert(sizeof(CmdResponse) == 12);

// 5.6.6.2: task management function; the response byte is device-writable.
struct TmfRequest {
    uint32_t type;
    uint32_t subtype;
    uint8_t lun[8];
    uint64_t id;
};
static_assert(sizeof(TmfRequest) == 24);

// 5.6.6.2: asynchronous notification query / subscribe.
struct AnRequest {
    uint32_t type;
    uint8_t lun[8];
    uint32_t event_requested;
};
static_assert(sizeof(AnRequest) == 16);

struct AnResponse {
    uint32_t event_actual;
    uint8_t response;
};
static_assert(sizeof(AnResponse) == 5);

// 5.6.6.3: what the device writes into an event queue buffer.
struct Event {
    uint32_t event;
    uint8_t lun[8];
    uint32_t reason;
};
static_assert(sizeof(Event) == 16);

// 5.6.4: configuration space.
struct Config {
    uint32_t num_queues;  // request queues
    uint32_t seg_max;
    uint32_t max_sectors;
    uint32_t cmd_per_lun;
    uint32_t event_info_size;
    uint32_t sense_size;  // driver-writable
    uint32_t cdb_size;    // driver-writable
    uint16_t max_channel;
    uint16_t max_target;
    uint32_t max_lun;
};
static_assert(sizeof(Config) == 36);
static_assert(offsetof(Config, sense_size) == 20);
static_assert(offsetof(Config, cdb_size) == 24);
static_assert(offsetof(Config, max_target) == 30);

#pragma pack(pop)

}  // namespace vhostd::virtio_scsi

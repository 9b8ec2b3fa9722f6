// Parsing of one virtio-scsi command request from its (already walked) buffers, and writing
// its response. Pure: no queue, no SCSI target, so it is unit-tested and fuzzed on its own.
// The header and CDB are copied out of guest memory once and checked here.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include <sys/uio.h>

#include "devices/virtio_scsi/scsi_address.hpp"
#include "spec/virtio_scsi.hpp"

namespace vhostd::virtio_scsi {

// The sizes the driver and device agreed on (config space; the driver may change them).
struct CmdSizes {
    uint32_t cdb_size = kDefaultCdbSize;
    uint32_t sense_size = kDefaultSenseSize;
};

enum class DataDirection : uint8_t { none, to_device, from_device };

enum class CmdVerdict : uint8_t {
    execute,     // hand the command to the SCSI target
    respond,     // answer at once with `response` (the response area is writable)
    unanswered,  // no room for a response: the request cannot be completed (ring broken)
};

struct CmdRequest {
    CmdVerdict verdict = CmdVerdict::unanswered;
    uint8_t response = response::kOk;  // for respond
    uint64_t tag = 0;                  // the driver's id, for ABORT TASK
    uint8_t task_attr = 0;
    std::optional<ScsiAddress> address;  // nullopt: malformed LUN field
    std::array<uint8_t, kMaxCdbSize> cdb{};
    uint32_t cdb_length = 0;
    DataDirection direction = DataDirection::none;
    std::span<iovec> data;     // data-out or data-in buffers, in the caller's storage
    uint64_t data_length = 0;  // bytes of `data`
};

// `readable` / `writable`: the chain's device-readable and device-writable iovecs; they are
// not modified, so the response can later be written through `writable`. `data_storage`
// receives a trimmed copy of the data buffers (at least as many entries as the chain has).
CmdRequest parse_cmd_request(std::span<const iovec> readable, std::span<const iovec> writable,
                             const CmdSizes& sizes, std::span<iovec> data_storage);

// What completes a command request.
struct CmdResult {
    uint8_t response = response::kOk;
    uint8_t status = 0;  // SCSI status
    uint32_t residual = 0;
    std::span<const uint8_t> sense;
};

// Writes the response header and as much sense as sense_size and the buffer allow into the
// start of `writable`. Returns the bytes written (for the used length, before any data-in).
uint32_t write_cmd_response(std::span<const iovec> writable, const CmdResult& result,
                            const CmdSizes& sizes);

}  // namespace vhostd::virtio_scsi

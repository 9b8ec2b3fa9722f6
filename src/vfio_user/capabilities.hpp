// VERSION negotiation: the client's proposal (major, minor and the JSON capabilities) parsed
// and checked, and our reply. vhostd supports neither migration, nor twin sockets, nor
// REGION_WRITE_MULTI, so those capabilities are accepted in a proposal and left out of the
// reply, which tells the client they are off.
#pragma once

#include <cstdint>

#include "base/error.hpp"
#include "vfio_user/message.hpp"

namespace vhostd::vfio_user {

// What the client proposed; values it did not name keep the spec's defaults.
struct ClientCapabilities {
    uint16_t major = kMajor;
    uint16_t minor = kMinor;
    bool has_json = false;  // the proposal carried version data
    uint64_t max_msg_fds = capability::kDefaultMaxMsgFds;
    uint64_t max_data_xfer_size = capability::kDefaultMaxDataXferSize;
    uint64_t max_dma_maps = capability::kDefaultMaxDmaMaps;
    uint64_t pgsizes = capability::kDefaultPgsizes;
    // Which capabilities were named: the reply may only hold a subset of them.
    bool named_max_msg_fds = false;
    bool named_max_data_xfer_size = false;
    bool named_max_dma_maps = false;
    bool named_pgsizes = false;
};

// Our side of the negotiation.
struct ServerCapabilities {
    uint64_t max_msg_fds = kMaxMsgFds;
    uint64_t max_data_xfer_size = kMaxDataXferSize;
    uint64_t max_dma_maps = 0;
    uint64_t pgsizes = kPageSize;
};

// Version data longer than this is refused before parsing (QEMU's is about 200 bytes).
constexpr size_t kMaxVersionData = 4096;

// Checks a VERSION command: no fds, the major we speak, and, if present, version data that is
// a NUL-terminated JSON object whose known capabilities have the spec's types. Unknown
// capabilities are tolerated.
[[nodiscard]] Result<ClientCapabilities> parse_version(const Message& message);

// The reply: the client's major, min(its minor, ours), and our values of the capabilities the
// client named (spec: the reply's list is a subset of the proposal's).
[[nodiscard]] Reply version_reply(const ClientCapabilities& client,
                                  const ServerCapabilities& server);

}  // namespace vhostd::vfio_user

// The VFIOUSER transport's options (SPDK's nvmf_create_transport): what vhostd honours (queue
// depth as CAP.MQES, I/O queue pairs as Number of Queues, the two doorbell switches), what it
// accepts and reports without effect (options of other transports and of SPDK's buffer pools,
// which a zero-copy controller does not have), and what it refuses because it cannot work.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "nvme/options.hpp"
#include "rpc/rpc_error.hpp"

namespace vhostd::targets::nvmf {

struct TransportOptions {
    // SPDK's VFIOUSER defaults.
    uint32_t max_queue_depth = 256;          // entries per I/O queue: CAP.MQES + 1
    uint32_t max_io_qpairs_per_ctrlr = 127;  // Number of Queues (Get Features 07h)
    uint32_t max_aq_depth = 32;              // reported (the driver sizes its admin queue)
    bool disable_mappable_bar0 = false;      // -M: trapped doorbells
    bool disable_shadow_doorbells = false;   // -S: no Doorbell Buffer Config
    bool disable_adaptive_irq = false;       // reported: vhostd's interrupt policy is its own
    bool disable_command_passthru = false;   // reported: vhostd passes no command through
    bool zcopy = false;                      // reported: vhostd is always zero copy
    // Other transports' and SPDK's pool options, as given (or SPDK's defaults): reported and
    // saved, no effect.
    std::map<std::string, uint64_t, std::less<>> reported;

    // The NVMe controller options these stand for.
    void apply(nvme::ControllerOptions& options) const;
    // nvmf_get_transports' entry and save_config's params: SPDK's fields and vhostd's.
    [[nodiscard]] nlohmann::json to_json() const;
};

// nvmf_create_transport's params: trtype VFIOUSER (any case), the options above; a value out
// of range or an option that cannot work (tgt_name, dif_insert_or_strip, masked_oncs, ...) is
// invalid params.
[[nodiscard]] std::expected<TransportOptions, rpc::RpcError> parse_transport(
    const nlohmann::json* params);

}  // namespace vhostd::targets::nvmf

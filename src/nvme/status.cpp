// Completion statuses: block outcomes mapped to NVMe statuses.
#include "nvme/status.hpp"

namespace vhostd::nvme {

Status to_status(block::IoStatus io, block::IoType type, block::BdevState state) {
    switch (io) {
        case block::IoStatus::success:
            return kSuccess;
        case block::IoStatus::unsupported:
            // The namespace's bdev lacks the capability the opcode needs.
            return status::kInvalidOpcode;
        case block::IoStatus::no_space:
            return status::kCapacityExceeded;
        case block::IoStatus::aborted:
            // The bdev went away under the request (hot removal): the namespace is gone.
            return state == block::BdevState::removed ? status::kInvalidNamespace
                                                      : status::kAbortRequested;
        case block::IoStatus::io_error:
            break;
    }
    if (state == block::BdevState::failed) {
        // 4.6.1.2.2: retryable until the bdev recovers.
        return status::kNamespaceNotReady;
    }
    if (state == block::BdevState::removed) {
        return status::kInvalidNamespace;
    }
    switch (type) {
        case block::IoType::read:
            return status::kUnrecoveredReadError;
        case block::IoType::write:
        case block::IoType::write_zeroes:
            return status::kWriteFault;
        case block::IoType::flush:
        case block::IoType::discard:
            break;
    }
    return status::kInternalError;
}

}  // namespace vhostd::nvme

// Completion statuses: the status field of a completion queue entry (4.6.1) as the controller
// builds it, and the one place where block-layer outcomes become NVMe statuses.
#pragma once

#include <cstdint>

#include "block/bdev.hpp"
#include "block/io_request.hpp"
#include "spec/nvme.hpp"

namespace vhostd::nvme {

// Bits 15:1 of a CQE's status word, shifted down by one: SC 7:0, SCT 10:8, DNR 14. The phase
// tag is added when the entry is written.
using Status = uint16_t;

constexpr Status kSuccess = 0;

// Do Not Retry is set for errors the same command would hit again (bad fields, ranges).
constexpr Status generic_status(uint8_t sc, bool dnr = true) {
    return static_cast<Status>(sc | (dnr ? nvme_spec::kDnr : 0));
}
constexpr Status specific_status(uint8_t sc, bool dnr = true) {
    return static_cast<Status>((nvme_spec::sct::kCommandSpecific << nvme_spec::kSctShift) | sc |
                               (dnr ? nvme_spec::kDnr : 0));
}
constexpr Status media_status(uint8_t sc, bool dnr = false) {
    return static_cast<Status>((nvme_spec::sct::kMedia << nvme_spec::kSctShift) | sc |
                               (dnr ? nvme_spec::kDnr : 0));
}

namespace status {
using namespace nvme_spec;
constexpr Status kInvalidOpcode = generic_status(generic_sc::kInvalidOpcode);
constexpr Status kInvalidField = generic_status(generic_sc::kInvalidField);
constexpr Status kDataTransferError = generic_status(generic_sc::kDataTransferError);
constexpr Status kInternalError = generic_status(generic_sc::kInternalError, false);
constexpr Status kAbortRequested = generic_status(generic_sc::kAbortRequested, false);
constexpr Status kInvalidNamespace = generic_status(generic_sc::kInvalidNamespaceOrFormat);
constexpr Status kCommandSequenceError = generic_status(generic_sc::kCommandSequenceError);
constexpr Status kSglSegmentInvalid = generic_status(generic_sc::kInvalidSglSegmentDescriptor);
constexpr Status kSglCountInvalid = generic_status(generic_sc::kInvalidNumberOfSglDescriptors);
constexpr Status kSglLengthInvalid = generic_status(generic_sc::kDataSglLengthInvalid);
constexpr Status kSglTypeInvalid = generic_status(generic_sc::kSglDescriptorTypeInvalid);
constexpr Status kPrpOffsetInvalid = generic_status(generic_sc::kPrpOffsetInvalid);
constexpr Status kLbaOutOfRange = generic_status(generic_sc::kLbaOutOfRange);
constexpr Status kCapacityExceeded = generic_status(generic_sc::kCapacityExceeded);
constexpr Status kNamespaceNotReady = generic_status(generic_sc::kNamespaceNotReady, false);
constexpr Status kWriteProtected = generic_status(generic_sc::kNamespaceWriteProtected);
constexpr Status kCompletionQueueInvalid = specific_status(specific_sc::kCompletionQueueInvalid);
constexpr Status kInvalidQueueId = specific_status(specific_sc::kInvalidQueueIdentifier);
constexpr Status kInvalidQueueSize = specific_status(specific_sc::kInvalidQueueSize);
constexpr Status kAerLimitExceeded = specific_status(specific_sc::kAsyncEventRequestLimitExceeded);
constexpr Status kInvalidInterruptVector = specific_status(specific_sc::kInvalidInterruptVector);
constexpr Status kInvalidLogPage = specific_status(specific_sc::kInvalidLogPage);
constexpr Status kInvalidQueueDeletion = specific_status(specific_sc::kInvalidQueueDeletion);
constexpr Status kFeatureNotSaveable = specific_status(specific_sc::kFeatureNotSaveable);
constexpr Status kWriteFault = media_status(media_sc::kWriteFault);
constexpr Status kUnrecoveredReadError = media_status(media_sc::kUnrecoveredReadError);
}  // namespace status

// The status a finished block request completes with: its outcome, what it was, and the
// state of its bdev (a failed bdev is "not ready" for now, a removed one gone for good).
Status to_status(block::IoStatus io, block::IoType type, block::BdevState state);

// The CQE status word: the status field above bit 0, the phase tag in bit 0.
constexpr uint16_t status_word(Status status, bool phase) {
    return static_cast<uint16_t>((status << 1) | (phase ? 1 : 0));
}

}  // namespace vhostd::nvme

// Data-in replies and parameter list fetches.
#include "scsi/transfer.hpp"

#include <algorithm>

#include "base/iovec.hpp"
#include "scsi/sense.hpp"

namespace vhostd::scsi {

void reply(Task& task, std::span<const uint8_t> data, uint64_t allocation_length) noexcept {
    set_good(task);
    if (task.direction != DataDirection::from_device || task.iov == nullptr) {
        task.data_transferred = 0;
        return;
    }
    const uint64_t n = std::min({uint64_t{data.size()}, allocation_length, task.transfer_length});
    task.data_transferred = iov_copy_in({task.iov, task.iovcnt}, 0, data.data(), n);
}

bool fetch_parameters(Task& task, uint32_t length) noexcept {
    if (length == 0) {
        task.state.param_length = 0;
        return true;
    }
    if (task.direction != DataDirection::to_device || task.iov == nullptr ||
        task.transfer_length < length) {
        set_overrun(task);
        return false;
    }
    const size_t n = std::min<size_t>(length, task.state.param.size());
    const size_t copied = iov_copy_out({task.iov, task.iovcnt}, 0, task.state.param.data(), n);
    if (copied < n) {  // the iovecs hold less than transfer_length claimed
        set_overrun(task);
        return false;
    }
    task.state.param_length = static_cast<uint32_t>(copied);
    task.data_transferred = length;
    return true;
}

void set_overrun(Task& task) noexcept {
    set_check_condition(task, sense::invalid_field_in_cdb);
    task.overrun = true;
    task.data_transferred = 0;
}

}  // namespace vhostd::scsi

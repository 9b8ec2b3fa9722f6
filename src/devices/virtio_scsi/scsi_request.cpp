// virtio-scsi command request parsing and response writing (VIRTIO 1.2, 5.6.6.1).
#include "devices/virtio_scsi/scsi_request.hpp"

#include <algorithm>
#include <cstring>

#include "base/iovec.hpp"

namespace vhostd::virtio_scsi {
namespace {

CmdRequest respond_with(uint8_t code) {
    return CmdRequest{.verdict = CmdVerdict::respond, .response = code};
}

// Copies `from` into `storage` and drops `skip` bytes from the front of the copy.
std::span<iovec> data_after(std::span<const iovec> from, uint64_t skip, std::span<iovec> storage) {
    const size_t n = std::min(from.size(), storage.size());
    std::copy_n(from.begin(), n, storage.begin());
    return iov_drop_front(storage.first(n), skip);
}

}  // namespace

CmdRequest parse_cmd_request(std::span<const iovec> readable, std::span<const iovec> writable,
                             const CmdSizes& sizes, std::span<iovec> data_storage) {
    // 5.6.6.1: the device-writable part starts with the response header. Without room for
    // it nothing can be reported, not even an error.
    const uint64_t writable_bytes = iov_length(writable);
    if (writable_bytes < sizeof(CmdResponse)) {
        return CmdRequest{.verdict = CmdVerdict::unanswered};
    }
    // 5.6.6.1: the device-readable part starts with the header and cdb_size bytes of CDB.
    // Copied once; everything below looks only at the copy.
    const uint32_t cdb_size = std::min(sizes.cdb_size, kMaxCdbSize);
    std::array<uint8_t, sizeof(CmdHeader) + kMaxCdbSize> head{};
    const uint64_t head_size = sizeof(CmdHeader) + cdb_size;
    if (iov_copy_out(readable, 0, head.data(), head_size) != head_size) {
        return respond_with(response::kFailure);
    }
    CmdHeader header;
    std::memcpy(&header, head.data(), sizeof(header));

    CmdRequest request{.verdict = CmdVerdict::execute};
    request.tag = header.id;
    request.task_attr = header.task_attr;
    request.address = parse_lun_field(header.lun);
    std::memcpy(request.cdb.data(), head.data() + sizeof(CmdHeader), cdb_size);
    request.cdb_length = cdb_size;
    if (!request.address) {
        // 5.6.6.1: a LUN field that names no target.
        return respond_with(response::kBadTarget);
    }

    // 5.6.6.1: data-out follows the CDB, data-in follows the sense area.
    const uint64_t readable_bytes = iov_length(readable);
    const uint64_t response_size = sizeof(CmdResponse) + uint64_t{sizes.sense_size};
    const uint64_t out_bytes = readable_bytes - head_size;
    const uint64_t in_bytes = writable_bytes > response_size ? writable_bytes - response_size : 0;
    if (out_bytes != 0 && in_bytes != 0) {
        // 5.6.6.1: both directions need VIRTIO_SCSI_F_INOUT, and the SCSI target implements
        // no bidirectional command: refused whether or not the driver negotiated it.
        return respond_with(response::kFailure);
    }
    if (out_bytes != 0) {
        request.direction = DataDirection::to_device;
        request.data = data_after(readable, head_size, data_storage);
        request.data_length = out_bytes;
    } else if (in_bytes != 0) {
        request.direction = DataDirection::from_device;
        request.data = data_after(writable, response_size, data_storage);
        request.data_length = in_bytes;
    }
    return request;
}

uint32_t write_cmd_response(std::span<const iovec> writable, const CmdResult& result,
                            const CmdSizes& sizes) {
    const size_t sense_len = std::min<size_t>(
        {result.sense.size(), sizes.sense_size,
         iov_length(writable) - std::min<uint64_t>(iov_length(writable), sizeof(CmdResponse))});
    const CmdResponse header{
        .sense_len = static_cast<uint32_t>(sense_len),
        .residual = result.residual,
        .status_qualifier = 0,
        .status = result.status,
        .response = result.response,
    };
    size_t written = iov_copy_in(writable, 0, &header, sizeof(header));
    written += iov_copy_in(writable, sizeof(header), result.sense.data(), sense_len);
    return static_cast<uint32_t>(written);
}

}  // namespace vhostd::virtio_scsi
